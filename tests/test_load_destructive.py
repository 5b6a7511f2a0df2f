"""Load on a target that forbids destructive checks: the Developer users pull instead of pushing."""

import pytest

from hgharness.hg import nodes, open_repo
from hgharness.load.runner import LoadSpec, run_load
from tests.conftest import copy_repos, hgweb, target_for

pytestmark = [pytest.mark.load, pytest.mark.integration]


def test_developers_do_not_push_where_destructive_checks_are_forbidden(seed_repos, tmp_path):
    repos = copy_repos(seed_repos, tmp_path / "repos")
    before = {p.name: set(nodes(open_repo(p))) for p in repos.iterdir() if (p / ".hg").is_dir()}
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    mixes = tmp_path / "mixes.toml"  # developers only: four of them, no pause: they push within seconds when they may
    mixes.write_text("[pace]\nDeveloper = 0\n[mixes.developers]\ndescription = \"developers\"\nusers = { Developer = 1 }\n")
    with hgweb(repos, workers=2) as server:
        target = target_for(server, allow_destructive=False)
        assert target.destructive_refusal()
        stage = run_load(target, run_dir, LoadSpec(mix="developers", users=3, spawn_rate=3, duration_s=12,
                                                     mixes_path=str(mixes)),
                         progress=lambda m: None)
    assert stage.exit_code != 2, stage.detail
    assert stage.actions.get("pull", {}).get("count", 0) > 0, sorted(stage.actions)
    assert not any(name.endswith("push") and a.get("count") for name, a in stage.actions.items()), stage.actions
    after = {name: set(nodes(open_repo(repos / name))) for name in before}
    assert after == before, "a push reached a target that forbids destructive checks"
