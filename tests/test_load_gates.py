"""SLO gates decide: a slowed route breaches its gate (exit 1, named); the healthy target passes the defaults."""

import sys

import pytest

from hgharness.embedded import free_port
from hgharness.load.mixes import developer_available
from hgharness.procs import ManagedProcess
from tests.conftest import ROOT, clean_env, copy_repos, hgweb, run_cli
from tests.load_helpers import gates_by_name, load_json, locust_sample_lines, only_run_dir
from tests.load_slow_app import CHANGESET_DELAY_MS

pytestmark = [pytest.mark.load, pytest.mark.integration]


REVIEW_MIX = """
[pace]
AnonymousBrowser = 0.5
[mixes.review]
users = { AnonymousBrowser = 1 }
[mixes.review.actions.AnonymousBrowser]
changeset = 20    # enough changesets in a short run for their median to be judged
"""


def test_slowed_changesets_breach_their_gate(tmp_path, seed_repos):
    mixes = tmp_path / "mixes.toml"
    mixes.write_text(REVIEW_MIX)
    # sync gunicorn workers: enough of them that a sleeping changeset request does not hold up other pages
    with hgweb(seed_repos, wrap="tests.load_slow_app:slow_changesets", workers=6) as server:
        r = run_cli("load", "--target", server.url, "--mixes", mixes, "--mix", "review", "--users", 6,
                    "--spawn-rate", 6, "--duration", 14, "--runs-dir", tmp_path / "runs",
                    env=clean_env(HGHARNESS_FIXTURE_DIR=server.repos_dir))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "BREACHED changeset.p50_ms" in r.stdout, r.stdout
    run_dir = only_run_dir(tmp_path / "runs")
    gates = gates_by_name(run_dir)
    assert gates["changeset.p50_ms"]["status"] == "failed"
    assert gates["changeset.p50_ms"]["observed"] >= CHANGESET_DELAY_MS > gates["changeset.p50_ms"]["threshold"]
    # the other pages were not slowed, and their gates say so: the verdict points at the slowed route (the
    # aggregate may follow it: the changesets are part of it, and they slow their users' pace)
    failed = {g["gate"] for g in gates.values() if g["status"] == "failed"}
    assert {g.split(".")[0] for g in failed} <= {"changeset", "aggregate"}, failed
    assert [g for g in gates.values() if g["scope"] not in ("changeset", "aggregate") and g["status"] == "passed"]
    junit = (run_dir / "junit.xml").read_text()
    assert 'name="changeset.p50_ms"' in junit and "<failure" in junit
    assert load_json(run_dir / "summary.json")["verdict"] == "failed"


def test_healthy_target_passes_default_gates_with_master_and_two_workers(tmp_path, seed_repos):
    """Master + one local worker + one worker joining the way a worker on another host does (on loopback)."""
    mix = "mixed" if developer_available() else "browse-heavy"
    repos = copy_repos(seed_repos, tmp_path / "repos")  # Developer users push
    port = free_port()
    with hgweb(repos, workers=4) as server:
        creds = dict(HGHARNESS_USERNAME=server.username, HGHARNESS_PASSWORD=server.password.reveal())
        # the joining worker has no local fixture: it clones the target's repositories to learn its URLs
        joining = ManagedProcess([sys.executable, "-m", "hgharness", "load", "--target", server.url, "--worker",
                                  "--master-host", "127.0.0.1", "--master-port", str(port)], "joining worker",
                                 env=clean_env(**creds), cwd=str(ROOT), stdout_path=tmp_path / "worker.log",
                                 stderr_path=tmp_path / "worker.log")
        try:
            r = run_cli("load", "--target", server.url, "--mix", mix, "--users", 6, "--spawn-rate", 6,
                        "--duration", 10, "--workers", 1, "--remote-workers", 1, "--master-bind-host", "127.0.0.1",
                        "--master-port", port, "--runs-dir", tmp_path / "runs",
                        env=clean_env(HGHARNESS_FIXTURE_DIR=repos, **creds))
            assert joining.proc.wait(60) == 0, (tmp_path / "worker.log").read_text()
        finally:
            joining.stop()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "worker done" in (tmp_path / "worker.log").read_text()
    run_dir = only_run_dir(tmp_path / "runs")
    result = load_json(run_dir / "load-result.json")
    assert result["workers"] == 2
    assert not [g for g in load_json(run_dir / "slo.json")["gates"] if g["status"] == "failed"]
    assert gates_by_name(run_dir)["aggregate.rate_ratio"]["status"] == "passed"
    # both workers' latencies reached the master: one raw sample per request Locust counted
    assert len(locust_sample_lines(run_dir)) == result["aggregate"]["count"] > 0
    for name in ("locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv", "locust.html",
                 "junit.xml", "summary.json", "catalog.json", "index.html"):
        assert (run_dir / name).is_file(), name
    logs = "".join(p.read_text(errors="replace") for p in [*run_dir.rglob("*.log"), tmp_path / "worker.log"])
    assert server.password.reveal() not in logs
