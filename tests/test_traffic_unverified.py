"""Item 5 of issue 16: "lost" only when proven. A target killed in the middle of the traffic, or restarted on the
same port, must never have changesets reported lost that are on its disk afterwards; what no lookup could check
is "unverified", with its own count and exit status (3 when nothing else failed)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from tests.conftest import copy_repos, hgweb, target_for

pytestmark = [pytest.mark.traffic, pytest.mark.integration]

PUSHES_BEFORE_KILL = 3


def on_disk(repo_dir: Path) -> set[str]:
    from hgharness.hg import nodes, open_repo

    return set(nodes(open_repo(repo_dir)))


def kill(server) -> None:
    """SIGKILL the gunicorn master and its workers, by PID: a crash, not a shutdown."""
    for pid in server.pids():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    server.proc.proc.wait(timeout=30)


def pushes_counted(monkeypatch, n: int) -> threading.Event:
    """An event set once n pushes were accepted (counted where the traffic records its operations)."""
    from hgharness.fixtures.traffic_stats import OpStats

    done, seen, original = threading.Event(), [0], OpStats.record

    def record(self, res, actor="", pair=None):
        original(self, res, actor, pair)
        if res.name == "push" and res.ok:
            seen[0] += 1
            if seen[0] >= n:
                done.set()

    monkeypatch.setattr(OpStats, "record", record)
    return done


def run_in_thread(target, config, box: dict) -> threading.Thread:
    from hgharness.fixtures.traffic import run_traffic

    def body():
        box["result"] = run_traffic(target, config, progress=lambda m: None)

    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t


def config(repo: str, duration: float, think: float):
    from hgharness.fixtures.traffic import TrafficConfig

    return TrafficConfig(repos=[repo], pushers=2, pullers=1, cloners=0, duration_s=duration, think_s=think)


@pytest.fixture
def served(seed_repos, tmp_path):
    from hgharness.fixtures.traffic_cli import pick_repo

    repos = copy_repos(seed_repos, tmp_path / "repos")
    # a killed worker may leave an abandoned transaction the next push trips over: that is the crash's doing
    with hgweb(repos, check_tracebacks=False) as server:
        target = target_for(server)
        yield server, target, pick_repo(target)


def test_a_target_killed_mid_run_loses_nothing_it_kept(served, monkeypatch):
    from hgharness.fixtures.traffic_cli import print_result

    server, target, repo = served
    before = on_disk(Path(server.repos_dir) / repo)
    done, box = pushes_counted(monkeypatch, PUSHES_BEFORE_KILL), {}
    traffic = run_in_thread(target, config(repo, duration=60, think=0.05), box)
    assert done.wait(timeout=180), "no push was accepted"
    kill(server)
    traffic.join(timeout=240)
    assert not traffic.is_alive()
    result = box["result"]
    kept = on_disk(Path(server.repos_dir) / repo) - before
    assert result["lost"] == 0 and not result["lost_nodes"], result["lost_nodes"]
    # the server is gone: nothing could be looked up, so nothing is verified and nothing is lost
    assert result["pushed"] >= PUSHES_BEFORE_KILL and result["verified"] == 0
    assert result["unverified"] >= result["pushed"], result
    unverified = {n.split(":", 1)[1] for n in result["unverified_nodes"]}
    assert len(kept & unverified) >= result["pushed"]  # every accepted push is really on disk
    assert result["exit_code"] == 1 and any("unreachable" in p for p in result["problems"])  # ops failed
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        print_result(result)
    assert f"unverified {result['unverified']}" in out.getvalue() and "lost 0" in out.getvalue()


def test_a_target_restarted_on_the_same_port_keeps_what_landed(served, monkeypatch):
    server, target, repo = served
    before = on_disk(Path(server.repos_dir) / repo)
    port = server.port
    done, box = pushes_counted(monkeypatch, PUSHES_BEFORE_KILL), {}
    traffic = run_in_thread(target, config(repo, duration=20, think=0.5), box)
    assert done.wait(timeout=180), "no push was accepted"
    kill(server)
    server.start()
    assert server.port == port
    traffic.join(timeout=240)
    assert not traffic.is_alive()
    result = box["result"]
    kept = on_disk(Path(server.repos_dir) / repo) - before
    assert result["lost"] == 0 and not result["lost_nodes"], result["lost_nodes"]
    assert result["pushed"] == result["verified"] + sum(1 for n in result["unverified_nodes"]
                                                        if n.split(":", 1)[1] in kept)
    assert len(kept) >= result["verified"] >= PUSHES_BEFORE_KILL


def test_nothing_failed_but_nothing_could_be_checked_is_unverified(served, monkeypatch, tmp_path):
    """The server dies after the last push, before the lookups: exit 3, status "unverified", a valid summary."""
    from hgharness.fixtures import traffic as traffic_mod
    from hgharness.fixtures.traffic_cli import stage_result
    from hgharness.reports.schema import validate_summary
    from hgharness.rundir import base_summary, overall_exit

    server, target, repo = served
    original = traffic_mod.verify_integrity

    def kill_then_verify(*args, **kwargs):
        kill(server)
        return original(*args, **kwargs)

    monkeypatch.setattr(traffic_mod, "verify_integrity", kill_then_verify)
    only_pushes = traffic_mod.TrafficConfig(repos=[repo], pushers=1, ops=3)
    result = traffic_mod.run_traffic(target, only_pushes, run_dir=tmp_path, progress=lambda m: None)
    assert result["lost"] == 0 and result["unverified"] == result["pushed"] > 0, result
    assert result["exit_code"] == 3 and result["verdict"] == "unverified", result["problems"]
    stage = stage_result(result, tmp_path, 1.0)
    assert stage.status == "unverified" and stage.exit_code == 3 and "unverified" in stage.detail
    assert stage.traffic["unverified"] == result["unverified"]
    summary = base_summary(tmp_path, "traffic", target.describe())
    summary["stages"].append(stage.entry())
    summary.update(tests=stage.tests, traffic=stage.traffic, exit_code=overall_exit(summary["stages"]),
                   verdict="unverified", ended=summary["started"], duration_s=1.0)
    assert summary["exit_code"] == 3
    assert validate_summary(summary) == []


def test_overall_exit_ranks_unverified_below_a_failure():
    from hgharness.rundir import overall_exit

    def st(code, status="x"):
        return {"exit_code": code, "status": status}

    assert overall_exit([st(0), st(3)]) == 3
    assert overall_exit([st(1), st(3)]) == 1
    assert overall_exit([st(2), st(3)]) == 2
    assert overall_exit([st(0), st(0, "skipped")]) == 0
