"""Push traffic against real hgweb under gunicorn: nothing lost on a healthy server, every loss found on a broken
one, and bad input turned into one line and exit 2."""

import json
import os
import shutil
from pathlib import Path

import pytest

from hgharness.embedded import free_port
from tests.conftest import clean_env, copy_repos, hgweb, run_cli, target_for

pytestmark = [pytest.mark.traffic, pytest.mark.integration]


def server_nodes(repo_dir: Path) -> set[str]:
    from hgharness.hg import nodes, open_repo

    return set(nodes(open_repo(repo_dir)))


def test_stage_on_a_healthy_server_loses_nothing(writable_hgweb, tmp_path, monkeypatch):
    from hgharness.cli import LAYERS
    from hgharness.fixtures.traffic_cli import pick_repo, stage_traffic
    from hgharness.session import StageContext as Context

    assert LAYERS.stages["traffic"].run is stage_traffic
    monkeypatch.setenv("HGHARNESS_TRAFFIC_DURATION", "4")
    server = writable_hgweb
    target = target_for(server)
    repo_dir = Path(server.repos_dir) / pick_repo(target)
    before = server_nodes(repo_dir)
    ctx = Context(target, tmp_path, args=None, progress=print, server=server)

    stage = stage_traffic(ctx)

    traffic = json.loads((tmp_path / "traffic.json").read_text())
    assert stage.status == "passed", stage.detail
    assert traffic["pushed"] > 0 and traffic["verified"] == traffic["pushed"] and traffic["lost"] == 0
    assert traffic["failures"] == 0
    # hg verify of the served repository found nothing the traffic caused (fixture warnings are reported apart)
    verify = traffic["server_verify"]
    assert verify["status"] in ("clean", "warnings") and not any(r["new_findings"] for r in verify["repos"].values())
    # independent of the harness's own check: exactly the changesets it reports pushed are new on disk
    assert len(server_nodes(repo_dir) - before) == traffic["pushed"]
    for op in ("clone", "pull", "push"):
        s = traffic["ops"][op]
        assert s["ok"] > 0 and s["p50_ms"] <= s["p95_ms"] <= s["p99_ms"] and s["bytes_received"] > 0, (op, s)
    assert set(stage.actions) == {"clone", "pull", "push"}  # the names the load stage and slo.toml use
    guarantees = [t for t in stage.tests if t["id"].count("::") == 1 and "." not in t["id"]]
    assert stage.traffic["lost"] == 0 and [t["outcome"] for t in guarantees] == ["passed"] * 4, guarantees
    # the Mercurial operations are judged by slo.toml's per-action gates, as in the load stage
    gates = {g["gate"]: g["status"] for g in stage.slo}
    assert all(gates[f"{op}.error_rate"] == "passed" for op in ("clone", "pull", "push")), gates
    assert set(gates.values()) <= {"passed", "skipped"}, gates  # latency gates need enough samples to judge
    assert {t["id"] for t in guarantees} == {"traffic::integrity", "traffic::operations",
                                             "traffic::pushes-accepted", "traffic::server-verify"}
    assert {t["id"] for t in stage.tests} - {t["id"] for t in guarantees} == {f"traffic::{g}" for g in gates}
    assert (tmp_path / "junit-traffic.xml").exists()


def test_a_server_that_silently_drops_pushes_is_caught(seed_repos, tmp_path):
    from tests import traffic_broken

    repos = copy_repos(seed_repos, tmp_path / "repos")
    traffic_broken.install(repos / "demo")
    # This server strips changesets behind concurrent pullers' backs: a reader racing the strip may crash in
    # the server (a traceback in its log). That is the sabotage working, not a harness fault, so no log check.
    with hgweb(repos, check_tracebacks=False) as server:
        env = clean_env(HGHARNESS_USERNAME=server.username, HGHARNESS_PASSWORD=server.password.reveal())
        p = run_cli("traffic", "--target", server.url, "--repo", "demo", "--pushers", "2", "--pullers", "1",
                    "--cloners", "0", "--ops", "8", "--retries", "2", "--runs-dir", tmp_path / "runs", "--run-id", "broken",
                    env=env, timeout=300)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "Traceback" not in p.stdout + p.stderr
    result = json.loads((tmp_path / "runs" / "broken" / "traffic.json").read_text())
    dropped = traffic_broken.dropped(repos / "demo")
    assert result["lost"] > 0 and dropped, result
    # exactly what the server threw away, no more, no less
    assert {n.split(":", 1)[1] for n in result["lost_nodes"]} == dropped
    assert f"lost {result['lost']}" in p.stdout
    summary = json.loads((tmp_path / "runs" / "broken" / "summary.json").read_text())
    from hgharness.reports.schema import validate_summary

    assert validate_summary(summary) == []
    assert summary["exit_code"] == 1 and summary["traffic"]["lost"] == result["lost"]
    page = (tmp_path / "runs" / "broken" / "index.html").read_text()  # the report says what was lost
    assert "FAILED" in page.upper() and "lost" in page.lower()
    assert any(t["id"] == "traffic::integrity" and t["outcome"] == "failed" for t in summary["tests"])


@pytest.mark.skipif(not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")), reason="needs nginx")
def test_traffic_over_https_behind_nginx_with_a_private_ca(seed_repos, tmp_path):
    from hgharness.fixtures.traffic import TrafficConfig, run_traffic
    from hgharness.front import start_hgweb_behind_nginx
    from hgharness.target import Target

    repos = copy_repos(seed_repos, tmp_path / "repos")
    server = start_hgweb_behind_nginx(repos, tmp_path / "w", prefix="/hg", tls=True, password="tls-traffic-pw")
    try:
        target = Target(url=server.url, username=server.username, password=server.password,
                        ca_bundle=server.ca_file, allow_load=True, embedded=True)
        assert target.url.startswith("https://") and target.prefix == "/hg/"
        result = run_traffic(target, TrafficConfig(repos=["demo"], pushers=1, pullers=1, cloners=1, ops=6),
                             server_repos_dir=repos, progress=print)
        assert not server.tracebacks(), server.tracebacks()
    finally:
        server.stop()
    assert result["exit_code"] == 0, result["problems"] + result["harness_errors"]
    assert result["pushed"] > 0 and result["lost"] == 0 and result["server_verify"]["status"] == "clean"


def assert_one_line_error(p, *words, code=2):
    assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stdout + p.stderr
    err = p.stderr.strip()
    assert len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err


def test_run_against_a_target_named_by_url_alone_finds_a_repository_for_traffic(seed_repos, tmp_path):
    """No repository list given: the traffic stage takes one the site's index lists (it used to skip)."""
    repos = copy_repos(seed_repos, tmp_path / "repos")
    with hgweb(repos) as server:
        env = clean_env(HGHARNESS_USERNAME=server.username, HGHARNESS_PASSWORD=server.password.reveal(),
                        HGHARNESS_TRAFFIC_DURATION="3")
        p = run_cli("run", "--target", server.url, "--stages", "traffic", "--runs-dir", tmp_path / "runs", env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "lists no repository" not in p.stdout and "[traffic] passed: pushed" in p.stdout, p.stdout


def test_unreachable_target_exits_2():
    url = f"http://127.0.0.1:{free_port()}/"
    assert_one_line_error(run_cli("traffic", "--target", url, "--repo", "demo", "--ops", "3"), url, "unreachable")


def test_a_site_that_breaks_clones_off_is_a_target_failure_not_bad_input(seed_repos, tmp_path):
    """The preflight clone dies mid-stream on a reachable site: exit 1 in one line, naming the clone."""
    with hgweb(seed_repos, wrap="tests.broken_targets:bundles_cut_short") as server:
        p = run_cli("traffic", "--target", server.url, "--repo", "demo", "--pushers", "0", "--pullers", "1",
                    "--ops", "3", "--runs-dir", tmp_path / "runs")
    assert p.returncode == 1, p.stdout + p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "target FAILED" in lines[0] and "demo" in lines[0], p.stderr
    assert "Traceback" not in p.stderr


def test_missing_repository_exits_2(hgweb_server):
    p = run_cli("traffic", "--target", hgweb_server.url, "--repo", "no-such-repo", "--pushers", "0",
                "--pullers", "1", "--ops", "3")
    assert_one_line_error(p, "no-such-repo", "not found")


def test_wrong_credentials_exit_2_before_any_push(hgweb_server):
    env = clean_env(HGHARNESS_USERNAME=hgweb_server.username, HGHARNESS_PASSWORD="not-the-password")
    p = run_cli("traffic", "--target", hgweb_server.url, "--repo", "demo", "--pushers", "1", "--ops", "3", env=env)
    assert_one_line_error(p, "refused the credentials", hgweb_server.username, "demo")
    assert "not-the-password" not in p.stdout + p.stderr


def test_missing_credentials_exit_2(hgweb_server):
    p = run_cli("traffic", "--target", hgweb_server.url, "--repo", "demo", "--pushers", "1", "--ops", "3")
    assert_one_line_error(p, "needs credentials", "HGHARNESS_PASSWORD")


@pytest.mark.parametrize("args, words", [
    (("--target", "http://hg.example.com/", "--repo", "demo", "--ops", "3"), ("refusing load traffic",)),
    (("--target", "http://127.0.0.1:9/", "--repo", "demo"), ("must be bounded",)),
    (("--target", "http://127.0.0.1:9/", "--repo", "demo", "--duration", "99999"), ("--duration",)),
], ids=["not-allowed", "unbounded", "too-long"])
def test_unsafe_runs_are_refused_before_any_traffic(args, words):
    assert_one_line_error(run_cli("traffic", *args), *words)
