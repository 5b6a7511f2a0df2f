"""The Locust HgUser in a real headless Locust run: Mercurial requests appear in Locust's statistics."""

import csv
import sys

import pytest

from tests.conftest import ROOT, clean_env

pytestmark = [pytest.mark.traffic, pytest.mark.integration, pytest.mark.load]


def test_hg_requests_appear_in_locust_stats(writable_hgweb, tmp_path):
    import subprocess

    server = writable_hgweb
    env = clean_env(HGHARNESS_TARGET=server.url, HGHARNESS_USERNAME=server.username,
                    HGHARNESS_PASSWORD=server.password.reveal(), HGHARNESS_TRAFFIC_REPO="demo",
                    PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-m", "locust", "-f", "tests/traffic_locustfile.py", "--headless",
                        "-u", "2", "-r", "2", "-t", "10s", "--stop-timeout", "30", "--csv", str(tmp_path / "hg"),
                        "--only-summary"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    rows = {r["Name"]: r for r in csv.DictReader(open(tmp_path / "hg_stats.csv")) if r["Type"] == "hg"}
    assert set(rows) == {"clone", "pull", "push"}, rows
    for name, r in rows.items():
        assert int(r["Request Count"]) > 0 and int(r["Failure Count"]) == 0, (name, r)
        assert float(r["Average Content Size"]) > 0, (name, r)  # bytes on the wire reach Locust too
    assert server.password.reveal() not in p.stdout + p.stderr
