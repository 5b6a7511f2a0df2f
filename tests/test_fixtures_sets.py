"""Named sets: the default set has the repositories other layers rely on, is cached, and copies are independent."""

from __future__ import annotations

import pytest

from hgharness.errors import HarnessError
from hgharness.fixtures import sets


def test_default_set_is_standard_with_a_hostile_repository(seed_repos):
    assert sets.DEFAULT_SET == "standard"
    names = sorted(p.name for p in seed_repos.iterdir() if (p / ".hg").is_dir())
    assert names == sorted(sets.SETS["standard"])
    assert "hostile" in names and len(names) >= 3
    from hgharness.hg import open_repo

    profiles = {spec.get("profile") for spec in sets.SETS["standard"].values()}
    assert {"small", "medium", "monorepo", "hostile"} <= profiles
    for name in names:
        assert len(open_repo(seed_repos / name)) > 1


def test_sets_are_built_once_and_copied(tmp_path, monkeypatch):
    monkeypatch.setenv("HGHARNESS_CACHE", str(tmp_path / "cache"))
    calls = []
    real = sets._build_one
    monkeypatch.setattr(sets, "_build_one", lambda spec, path: (calls.append(path.name), real(spec, path)))
    assert sets.build_set("tiny", tmp_path / "a") == ["tiny"]
    assert sets.build_set("tiny", tmp_path / "b") == ["tiny"]
    assert calls == ["tiny"], "the second build must come from the cache"
    from hgharness.hg import open_repo

    a, b = open_repo(tmp_path / "a" / "tiny"), open_repo(tmp_path / "b" / "tiny")
    assert a[b"tip"].node() == b[b"tip"].node()
    # a copy is independent: writing to one leaves the cache and the other copy alone
    with a.wlock(), a.lock(), a.transaction(b"t") as tr:
        a._bookmarks.applychanges(a, tr, [(b"only-in-a", a[b"tip"].node())])
    assert b"only-in-a" not in open_repo(tmp_path / "b" / "tiny")._bookmarks
    with pytest.raises(HarnessError, match="already exists"):
        sets.build_set("tiny", tmp_path / "a")


def test_unknown_set_is_a_harness_error(tmp_path):
    with pytest.raises(HarnessError, match="unknown fixture set 'nope' .*standard"):
        sets.build_set("nope", tmp_path)
