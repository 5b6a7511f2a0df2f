"""Destructive checks and pushes are gated on a non-loopback target (issue 16 item 11).

A non-loopback target must never be contacted by these tests: the Target is built from its URL alone (no
request), the probe is replaced, and every socket connection to a non-loopback address raises.
"""

import argparse
import ipaddress
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from hgharness.errors import HarnessError
from hgharness.session import RunSession, StageContext
from hgharness.target import Target
from tests.conftest import ROOT, clean_env

REMOTE = "https://hg.example.com/"

GUARD = '''
import ipaddress, socket

_connect = socket.socket.connect


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and not ipaddress.ip_address(host).is_loopback:
        raise RuntimeError(f"a test tried to reach {host}")
    return _connect(self, address)


socket.socket.connect = _loopback_only
'''

CONFTEST = GUARD + '''
import hgharness.http

hgharness.http.probe = lambda target, **kw: None  # the gate is decided from the URL, never by a request
'''

SUITE = '''
import pytest


def test_unmarked(target):
    pass


@pytest.mark.destructive
def test_pushes(target):
    pass


@pytest.mark.nondestructive
def test_reads(target):
    pass


def test_needs_no_target():
    pass
'''


@pytest.fixture
def no_remote_connections(monkeypatch):
    real = socket.socket.connect

    def loopback_only(self, address):
        if isinstance(address, tuple) and not ipaddress.ip_address(address[0]).is_loopback:
            raise AssertionError(f"a test tried to reach {address[0]}")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    monkeypatch.setattr("hgharness.http.probe", lambda target, **kw: None)  # the gate is decided from the URL
    monkeypatch.setattr("hgharness.http.broken_front_page", lambda target, response: None)


def _run_suite(tmp_path, url, *extra, **env):
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_suite.py").write_text(SUITE)
    results = tmp_path / "results.json"
    p = subprocess.run([sys.executable, "-m", "pytest", "-p", "hgharness.suites.plugin", "-p", "no:randomly",
                        "-p", "no:cacheprovider", "-n", "0", "-q", "-rs", "--target", url, *extra, "test_suite.py"],
                       cwd=tmp_path, env=clean_env(PYTHONPATH=ROOT, HGHARNESS_RESULTS=results, **env),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    return {r["id"].split("::")[-1]: r for r in json.loads(results.read_text())}


def test_a_remote_target_runs_only_the_nondestructive_subset(tmp_path):
    out = _run_suite(tmp_path, REMOTE)
    assert out["test_reads"]["outcome"] == "passed" and out["test_needs_no_target"]["outcome"] == "passed"
    for name in ("test_unmarked", "test_pushes"):  # unmarked tests are destructive (DESIGN.md convention 4)
        assert out[name]["outcome"] == "skipped"
        assert "destructive: hg.example.com is not loopback" in out[name]["message"]
        assert "--allow-destructive" in out[name]["message"]


@pytest.mark.parametrize("how", ["option", "env"])
def test_a_remote_target_runs_destructive_checks_when_allowed(tmp_path, how):
    extra, env = (["--allow-destructive"], {}) if how == "option" else ([], {"HGHARNESS_ALLOW_DESTRUCTIVE": "yes"})
    out = _run_suite(tmp_path, REMOTE, *extra, **env)
    assert {r["outcome"] for r in out.values()} == {"passed"}


def test_a_loopback_target_runs_everything(tmp_path):
    out = _run_suite(tmp_path, "http://127.0.0.1:9/")
    assert {r["outcome"] for r in out.values()} == {"passed"}


def _session(tmp_path, target, command="run"):
    args = argparse.Namespace(runs_dir=str(tmp_path / "runs"), run_id=None)
    session = RunSession.__new__(RunSession)  # no __enter__: nothing is started or probed
    session.args, session.command, session.progress = args, command, lambda msg: None
    session.target = target
    return session


def test_the_summary_says_the_run_was_the_nondestructive_subset(tmp_path):
    schema = json.loads((ROOT / "reports/summary.schema.json").read_text())
    remote = _session(tmp_path, Target.from_options(target=REMOTE, env={}))
    remote.open_run_dir()
    assert any(w.startswith("nondestructive subset:") for w in remote.summary["warnings"])
    assert remote.summary["target"]["allow_destructive"] is False
    remote.summary.update(ended=remote.summary["started"], duration_s=0, verdict="passed", exit_code=0)
    jsonschema.validate(remote.summary, schema)
    allowed = _session(tmp_path, Target.from_options(target=REMOTE, allow_destructive=True, env={}))
    allowed.open_run_dir()
    assert allowed.summary["warnings"] == [] and allowed.summary["target"]["allow_destructive"] is True


def _capture_traffic(monkeypatch):
    seen = {}

    def fake_run_traffic(target, config, **kw):
        seen["pushers"] = config.pushers
        raise HarnessError("stopped by the test")

    monkeypatch.setattr("hgharness.fixtures.traffic_cli.run_traffic", fake_run_traffic)
    return seen


@pytest.mark.parametrize("allow, pushers", [(None, 0), (True, 2)])
def test_the_traffic_stage_pushes_to_a_remote_target_only_when_allowed(tmp_path, monkeypatch, no_remote_connections,
                                                                       allow, pushers):
    from hgharness.fixtures.traffic_cli import stage_traffic

    seen, said = _capture_traffic(monkeypatch), []
    t = Target.from_options(target=REMOTE, username="u", allow_load=True, allow_destructive=allow,
                            repos=["demo"], env={"HGHARNESS_PASSWORD": "pw"})
    stage = stage_traffic(StageContext(t, tmp_path, argparse.Namespace(), said.append))
    assert seen["pushers"] == pushers and stage.detail == "stopped by the test"
    assert any("no push" in m and "--allow-destructive" in m for m in said) is (not pushers)


@pytest.mark.parametrize("allow, pushers", [([], 0), (["--allow-destructive"], 2)])
def test_the_traffic_command_pushes_to_a_remote_target_only_when_allowed(tmp_path, monkeypatch, capsys,
                                                                         no_remote_connections, allow, pushers):
    from hgharness.cli import build_parser
    from hgharness.fixtures.traffic_cli import main

    seen = _capture_traffic(monkeypatch)
    monkeypatch.chdir(tmp_path)
    for k in [k for k in os.environ if k.startswith("HGHARNESS_")]:
        monkeypatch.delenv(k)
    args = build_parser().parse_args(["traffic", "--target", REMOTE, "--allow-load", "--repo", "demo",
                                      "--duration", "5", "--runs-dir", str(tmp_path / "runs"), *allow])
    with pytest.raises(HarnessError, match="stopped by the test"):
        main(args)
    assert seen["pushers"] == pushers
    assert ("clone and pull only, no push" in capsys.readouterr().out) is (not pushers)
    summary_dirs = list(Path(tmp_path / "runs").glob("*"))
    assert len(summary_dirs) == 1  # the run directory was opened before traffic began


def test_push_only_traffic_to_a_remote_target_that_forbids_it_is_refused(tmp_path, monkeypatch, no_remote_connections):
    from hgharness.cli import build_parser
    from hgharness.fixtures.traffic_cli import main

    seen = _capture_traffic(monkeypatch)
    for k in [k for k in os.environ if k.startswith("HGHARNESS_")]:
        monkeypatch.delenv(k)
    args = build_parser().parse_args(["traffic", "--target", REMOTE, "--allow-load", "--repo", "demo", "--ops", "3",
                                      "--pullers", "0", "--cloners", "0", "--runs-dir", str(tmp_path / "runs")])
    with pytest.raises(HarnessError, match=r"traffic of pushes only, and pushes are not allowed here \(destructive"):
        main(args)
    assert not seen  # nothing was sent
