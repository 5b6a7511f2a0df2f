"""The load stage of `hgharness run`: a short mixed run on the embedded target, judged by the default gates."""

import argparse

import pytest

from hgharness.cli import LAYERS
from hgharness.load.cli import stage_load
from hgharness.session import StageContext as Context
from tests.conftest import copy_repos, hgweb, target_for

pytestmark = [pytest.mark.load, pytest.mark.integration]


def test_stage_is_registered():
    assert LAYERS.stages["load"].run is stage_load


def test_load_stage_passes_default_gates_on_the_healthy_target(tmp_path, seed_repos, monkeypatch):
    monkeypatch.setenv("HGHARNESS_LOAD_DURATION", "10")
    repos = copy_repos(seed_repos, tmp_path / "repos")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with hgweb(repos, workers=4) as server:
        ctx = Context(target_for(server), run_dir, argparse.Namespace(), lambda m: None, server)
        stage = stage_load(ctx)
    assert stage.status == "passed" and stage.exit_code == 0, stage.detail
    assert stage.counts["passed"] > 0 and stage.counts["failed"] == 0
    # the mix is drawn at random: a 10 s run on a busy machine may miss a light action (index weighs 2 of 34),
    # never most of the heavy ones; every HTTP action recorded (not hg clone, pull, push) is one the catalog knows
    from hgharness.load.catalog import ACTIONS

    heavy = {"summary", "log", "changeset", "file", "manifest"}
    assert len(heavy & set(stage.actions)) >= 3, sorted(stage.actions)
    http = [a for a in stage.actions if a not in ("clone", "pull", "push") and not a.startswith("api_")]
    assert http and set(http) <= set(ACTIONS), sorted(stage.actions)
    assert all(g["status"] in ("passed", "skipped") for g in stage.slo)
    assert {"slo.json", "junit-load.xml", "locust.html", "locust_stats.csv", "load-result.json"} <= set(stage.files)
    assert any(f.startswith("samples/locust-") for f in stage.files)


def test_load_stage_skips_a_target_that_does_not_allow_load(tmp_path, hgweb_server):
    ctx = Context(target_for(hgweb_server, allow_load=False), tmp_path, argparse.Namespace(), lambda m: None)
    stage = stage_load(ctx)
    assert stage.status == "skipped" and "allow_load" in stage.detail
    assert not list(tmp_path.iterdir())
