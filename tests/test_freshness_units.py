"""Units of the freshness checks: the cache rule, the views each write asks for, and the target's `publishing`."""

from __future__ import annotations

import pytest

from hgharness.errors import HarnessError
from hgharness.suites.headless import freshness as fr
from hgharness.target import Target
from tests.conftest import clean_env, run_cli

DATE = "Fri, 04 Dec 2026 22:00:00 GMT"


@pytest.mark.parametrize("headers, verdict", [
    ({}, None),
    ({"etag": 'W/"1"'}, None),
    ({"cache-control": "no-cache", "last-modified": DATE}, None),
    ({"cache-control": "no-store, max-age=600"}, None),
    ({"cache-control": "max-age=0", "last-modified": DATE}, None),
    ({"cache-control": "public, max-age=300"}, "Cache-Control max-age=300"),
    ({"cache-control": "private, s-maxage=0, max-age=60"}, None),  # s-maxage first: a shared cache's lifetime
    ({"cache-control": "s-maxage=60"}, "Cache-Control s-maxage=60"),
    ({"expires": "Fri, 04 Dec 2026 22:05:00 GMT", "date": DATE}, "Expires"),
    ({"expires": DATE, "date": DATE}, None),
    ({"expires": "0", "date": DATE}, None),
    ({"last-modified": DATE}, "heuristic lifetime"),
], ids=lambda v: str(v)[:40])
def test_the_cache_rule(headers, verdict):
    got = fr.cache_lifetime(headers)
    assert (got is None) if verdict is None else (got is not None and verdict in got), got


def test_each_write_asks_the_views_that_show_it():
    t = Target(url="http://127.0.0.1:9/")
    ids = {k: [v.id for v in fr.views_for(t, k, "r", "b", "ab" * 20)] for k in fr.WRITES}
    assert "json-tags" in ids["tag"] and "tags" in ids["tag"] and "json-tags" not in ids["push"]
    assert "wire:listkeys" in ids["bookmark"] and "wire:heads" not in ids["bookmark"]
    assert {"log", "shortlog", "graph", "summary", "atom-log", "rss-log", "wire:heads", "wire:branchmap"} <= \
        set(ids["new_head"])
    k = Target(url="http://127.0.0.1:9/", site_name="kallithea")
    kviews = fr.views_for(k, "push", "r", "b", "")
    assert len({v.path for v in kviews}) == len(kviews) and "refs" in [v.id for v in kviews]
    assert "json-log" not in [v.id for v in kviews]  # Kallithea has no such page


def test_publishing_is_a_boolean_of_the_target(tmp_path):
    assert Target.from_options(target="http://127.0.0.1:9/", env={}).publishing is True
    assert Target.from_options(target="http://127.0.0.1:9/", env={"HGHARNESS_PUBLISHING": "no"}).publishing is False
    cfg = tmp_path / "targets.toml"
    cfg.write_text('[targets.s]\nurl = "http://127.0.0.1:9/"\npublishing = false\n')
    t = Target.from_options(target="s", config=str(cfg), env={})
    assert t.publishing is False and t.to_env()["HGHARNESS_PUBLISHING"] == "0"
    cfg.write_text('[targets.s]\nurl = "http://127.0.0.1:9/"\npublishing = "no"\n')
    with pytest.raises(HarnessError, match=r'\[targets.s\] publishing must be true or false, not the string "no"'):
        Target.from_options(target="s", config=str(cfg), env={})


def test_a_wrongly_typed_publishing_is_one_line_exit_2(tmp_path):
    cfg = tmp_path / "targets.toml"
    cfg.write_text('[targets.s]\nurl = "http://127.0.0.1:9/"\npublishing = 1\n')
    p = run_cli("check", "--target", "s", "--config", cfg, "--runs-dir", tmp_path / "runs", env=clean_env(),
                timeout=120)
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert p.returncode == 2 and len(lines) == 1, (p.returncode, p.stderr)
    assert "publishing must be true or false, not the integer 1" in lines[0], lines


def test_the_coverage_declared_is_what_the_checks_fetch():
    import ast
    from pathlib import Path

    from hgharness.suites.headless import test_freshness

    source = Path(test_freshness.__file__).read_text()
    node = next(n for n in ast.parse(source).body if isinstance(n, ast.Assign) and n.targets[0].id == "COVERAGE")
    declared = ast.literal_eval(node.value)
    views = {((vid, None) if page is None else (None, page), rep, kind) for vid, (page, rep, writes) in
             fr.VIEWS.items() for kind in writes}
    got = {((e.get("route"), e.get("kind")), e["rep"], e["write"]) for e in declared
           if e["check"] == "test_views_show_the_write"}
    assert got == views
    assert all(e["aspect"] == "freshness" and e["write"] in fr.WRITES for e in declared)
    assert {e["check"] for e in declared} <= {n for n in dir(test_freshness) if n.startswith("test_")}
