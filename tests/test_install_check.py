"""The installed harness runs the main job (scripts/install-check.sh): `pip install .` (not editable) into a fresh
venv that also holds PyPI's `fixtures`, then `hgharness run` from a directory outside the checkout. The run it
keeps is the newcomer's first run: a run directory with every stage, a report with the capacity chart, and no
secret anywhere. A test (not a step before the tests) so that CI runs it beside the others, first."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import ROOT, clean_env

pytestmark = [pytest.mark.integration, pytest.mark.heavy(240)]


def test_the_installed_harness_runs_the_main_job_and_writes_no_secret(tmp_path):
    kept = tmp_path / "kept"
    env = clean_env(HGHARNESS_KEEP_MAIN_RUN=kept, TMPDIR=os.environ.get("TMPDIR", "/tmp"))
    env.pop("PYTHONPATH", None)  # a session-wide embedded hgweb (tests/conftest.py:hgweb) puts the checkout there
    p = subprocess.run(["bash", "scripts/install-check.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=1500)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    assert "PASSED: the installed harness ran the main job outside the checkout" in p.stderr, p.stderr[-2000:]
    run_dir, output, secret = kept / "run", (kept / "output.log").read_text(), (kept / "secret").read_text()
    for name in ("summary.json", "junit.xml", "index.html"):
        assert (run_dir / name).is_file(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["verdict"] == "passed" and summary["exit_code"] == 0
    assert summary["target"]["embedded"] and summary["target"]["password"] == "set"
    assert sum(s["counts"].get("passed", 0) for s in summary["stages"]) > 0
    assert {s["name"] for s in summary["stages"]} >= {"headless", "functional", "traffic", "load", "capacity"}
    # Mercurial over SSH through the embedded hgweb's own sshd (#21), the forced command run by the installed copy
    from hgharness.sshd import ssh_available

    ssh = next(s for s in summary["stages"] if s["name"] == "ssh")
    if ssh_available() is None:
        assert ssh["status"] == "passed" and ssh["counts"]["passed"] >= 4, ssh
        assert ssh["traffic"]["pushed"] > 0 and ssh["traffic"]["lost"] == 0, ssh
    # the short capacity search of #17: a throughput that held the SLO, its levels drawn in the report
    cap = next(s for s in summary["stages"] if s["name"] == "capacity")["capacity"]["candidate"]
    assert cap["capacity_rps"] > 0 and len(cap["levels"]) >= 2, cap
    assert "Throughput against concurrency" in (run_dir / "index.html").read_text()
    # the load stage's own requests, read back from the embedded server's access log by `load derive`
    load = next(s for s in summary["stages"] if s["name"] == "load")
    assert load["derived_from_run"]["requests"] > 0 and load["derived_from_run"]["classes"], load.keys()
    assert (run_dir / "derived-mix.toml").is_file() and "This run's load" in (run_dir / "index.html").read_text()
    assert secret and secret not in output + p.stdout + p.stderr
    leaks = [str(f) for f in run_dir.rglob("*") if f.is_file() and secret.encode() in f.read_bytes()]
    assert not leaks, leaks
