"""An https target with a private CA (nginx front, path prefix): the load users trust that CA and only it."""

import shutil

import pytest

from hgharness.front import NginxFront
from hgharness.load.runner import LoadSpec, run_load
from hgharness.tlsca import CA
from tests.conftest import target_for
from tests.load_helpers import load_json

pytestmark = [pytest.mark.load, pytest.mark.integration,
              pytest.mark.skipif(not shutil.which("nginx") and not shutil.which("/usr/sbin/nginx"),
                                 reason="needs nginx (apt-get install nginx-light)")]


def _run(target, run_dir):
    run_dir.mkdir()
    spec = LoadSpec(mix="browse-heavy", users=4, spawn_rate=4, duration_s=4)
    run_load(target, run_dir, spec, progress=lambda m: None)
    return load_json(run_dir / "load-result.json")


def test_private_ca_is_trusted_and_a_foreign_one_is_not(tmp_path, hgweb_server):
    with NginxFront(hgweb_server.url, tmp_path / "front", prefix="/hg", tls=True) as front:
        assert front.url.startswith("https://") and front.url.endswith("/hg/")
        good = _run(target_for(hgweb_server, url=front.url, ca_bundle=str(front.ca_file)), tmp_path / "good")
        assert good["aggregate"]["count"] > 0 and good["aggregate"]["failures"] == 0, good["aggregate"]
        # same server, a CA that did not sign its certificate: FastHttpUser must refuse every connection
        # (Locust's own default, insecure = True, would have accepted them all)
        other = CA(tmp_path / "other-ca")
        bad = _run(target_for(hgweb_server, url=front.url, ca_bundle=str(other.cert_file)), tmp_path / "bad")
    assert bad["aggregate"]["count"] > 0 and bad["aggregate"]["failures"] == bad["aggregate"]["count"]
    failures = (tmp_path / "bad" / "locust_failures.csv").read_text()
    assert "CERTIFICATE_VERIFY_FAILED" in failures or "certificate verify failed" in failures, failures
