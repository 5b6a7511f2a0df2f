"""`hgharness serve --site kallithea` and `hgharness run --site kallithea` as a user runs them."""

import json
import os
import re
import signal
import subprocess
import sys

import psutil
import pytest
import requests

from hgharness.procs import wait_until
from tests.conftest import ROOT, clean_env, run_cli, slo_without_ssh_latency_gates

# one server per session (per xdist worker); the group asks `--dist loadgroup` to keep these tests on one worker
# (pytest 9.2 with xdist 3.8 does not honour it yet: then each worker starts its own server)
pytestmark = [pytest.mark.kallithea, pytest.mark.integration, pytest.mark.xdist_group("kallithea")]


def test_serve_starts_answers_and_stops_cleanly(tmp_path):
    secret = "kallithea-serve-%d" % os.getpid()
    out = tmp_path / "serve.out"
    with open(out, "w") as f:
        proc = subprocess.Popen([sys.executable, "-m", "hgharness", "serve", "--site", "kallithea",
                                 "--workdir", str(tmp_path / "w")], cwd=ROOT, env=clean_env(HGHARNESS_PASSWORD=secret),
                                stdout=f, stderr=subprocess.STDOUT, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a user's Ctrl-C
    try:
        url = wait_until(lambda: (m := re.search(r"URL=(\S+)", out.read_text())) and m.group(1),
                         timeout=600, what="serve --site kallithea to print its URL")  # a cold venv build is slow
        pids = [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        assert requests.get(url, timeout=30).status_code == 200
        key_file = tmp_path / "w" / "api_key"
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        api = requests.post(url + "_admin/api", json={"id": 1, "api_key": key_file.read_text().strip(),
                                                      "method": "get_user", "args": {"userid": "hgharness"}},
                            timeout=30).json()
        assert api["error"] is None and not api["result"]["admin"], api  # the push user is an ordinary user
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
    text = out.read_text()
    assert code == 0, text
    assert "kallithea serving" in text and "stopping" in text and "Traceback" not in text
    assert secret not in text and key_file.read_text().strip() not in text
    wait_until(lambda: not [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"],
               timeout=30, what="every Kallithea process to be gone")


def test_main_job_on_kallithea_passes_through_nginx_tls_and_prefix(tmp_path):
    """The same front as hgweb's, before Kallithea served under /hg (PasteDeploy's prefix filter, force_https):
    every stage passes, every request went through nginx under the prefix, the report names the front. On the tiny
    fixture set: the front is what is tested here (the full set on Kallithea is test_kallithea_target's)."""
    from hgharness.cli import LAYERS

    secret = "kallithea-front-%d" % os.getpid()
    p = run_cli("run", "--site", "kallithea", "--front", "nginx", "--tls", "--prefix", "/hg", "--set", "tiny",
                "--runs-dir", tmp_path / "runs", "--run-id", "kf", "--slo", slo_without_ssh_latency_gates(tmp_path),
                env=clean_env(HGHARNESS_PASSWORD=secret, HGHARNESS_LOAD_DURATION="10", HGHARNESS_CAPACITY="0"),
                timeout=1200)
    run_dir = tmp_path / "runs" / "kf"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr
    t = summary["target"]
    assert summary["slo_file"].endswith("slo-without-ssh-latency.toml")  # the gates the run was judged by
    assert t["site"] == "kallithea" and t["front"] == "nginx+tls prefix=/hg" and t["url"].startswith("https://")
    assert t["url"].endswith("/hg/") and t["ca_bundle"] and not t["insecure"]
    ran = {s["name"]: s for s in summary["stages"]}
    # every stage runs by default; the capacity step is left out here (HGHARNESS_CAPACITY=0): CI time, and the
    # hgweb front's main job measures capacity through the same nginx
    assert ran["capacity"]["status"] == "skipped" and "HGHARNESS_CAPACITY=0" in ran["capacity"]["detail"]
    # Mercurial over SSH beside the front: Kallithea's own keys (kallithea-cli ssh-serve) through the harness's sshd
    assert ran["ssh"]["traffic"]["lost"] == 0 and ran["ssh"]["traffic"]["pushed"] > 0, ran["ssh"]
    for name in set(LAYERS.stages) - {"capacity", "fleet"}:  # fleet: one node, no backends (skipped)
        assert ran[name]["status"] == "passed", (name, ran[name].get("detail"))
        assert ran[name]["counts"]["passed"] > 0, name
    assert summary["traffic"]["lost"] == 0 and summary["traffic"]["verified"] == summary["traffic"]["pushed"] > 0
    access = (run_dir / "server" / "nginx-access.log").read_text()
    # every request that reached Kallithea (an upstream time; nginx answers malformed probes itself) was under /hg
    upstream = [ln for ln in access.splitlines() if ln.strip() and not ln.endswith("urt=-")]
    assert upstream and not [ln for ln in upstream if not re.search(r'"[A-Z]+ /hg/', ln)], upstream[:5]
    assert secret not in p.stdout + p.stderr
    leaks = [str(f) for f in run_dir.rglob("*") if f.is_file() and secret.encode() in f.read_bytes()]
    assert not leaks, leaks
