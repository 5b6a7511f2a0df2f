"""The coverage table (#18): the route inventory read from the site software, the declarations it is built from
(routes.TABLE_CHECKS and every suites module's COVERAGE list, the contract other checks use), `check
--coverage`, and the table in the run's summary and report."""

from __future__ import annotations

import ast
import json
import re

import pytest

from hgharness.sites.hgweb import HgwebSite
from hgharness.sites.kallithea import KallitheaSite
from hgharness.suites.support import coverage, inventory
from tests.conftest import ROOT, clean_env, run_cli


def test_the_hgweb_inventory_is_every_web_command_in_every_style_that_renders_it():
    from mercurial import wireprotov1server
    from mercurial.hgweb import webcommands

    inv = inventory.hgweb_inventory(HgwebSite())
    named = set(inv.routes) | {a for others in inv.aliases.values() for a in others}
    assert set(webcommands.__all__) <= named
    assert {f"wire:{c.decode()}" for c in wireprotov1server.commands} <= set(inv.routes)
    assert inv.aliases["rev"] == ["changeset"]  # one handler, the adapter's name first
    assert "gitweb" in inv.routes["rev"] and "json" in inv.routes["rev"] and "atom" not in inv.routes["rev"]
    assert "summary" in inv.routes and "html" not in inv.routes["summary"]  # paper has no summary view
    assert inv.kinds["raw_rev"] == ("rev", "raw") and inv.kinds["filelog"] == ("filelog", "html")
    assert inv.kinds["capabilities"] == ("wire:capabilities", "wire")


def test_the_kallithea_inventory_is_its_routes_mapper():
    python = inventory.kallithea_python()
    if python is None:
        pytest.skip("the Kallithea venv is not built here (tests/test_kallithea_venv.py builds it)")
    inv = inventory.kallithea_inventory(KallitheaSite(), python)
    assert inv.kinds["rev"] == ("changeset_home", "html") and inv.kinds["raw_rev"] == ("changeset_patch_home", "patch")
    assert inv.methods["delete_repo"] == ["POST"] and "wire:getbundle" in inv.routes
    assert not inv.notes, inv.notes  # every page kind of the adapter is a route of the site


def _decls(*entries):
    return [{**e, "module": "test"} for e in entries]


def test_a_declaration_fills_its_row_and_its_write():
    cov = coverage.build(HgwebSite(), decls=_decls(
        {"route": "shortlog", "rep": "json", "aspect": "freshness", "write": "tag", "check": "t_fresh"},
        {"route": "wire:heads", "aspect": "policy", "check": "t_policy"},
        {"kind": "raw_rev", "aspect": "content", "check": "t_patch"},
        {"route": "changeset", "rep": "gitweb", "aspect": "content", "check": "t_alias"},
        {"route": "archive", "rep": "archive", "aspect": "content", "check": "t_archive"}))
    assert cov.cells[("shortlog", "json")] == {"freshness": {"t_fresh"}}
    assert cov.cells[("wire:heads", "wire")] == {"policy": {"t_policy"}}
    assert cov.cells[("rev", "raw")] == {"content": {"t_patch"}, "status": {"t_patch"}}  # content implies status
    assert cov.cells[("rev", "gitweb")]["content"] == {"t_alias"}
    assert all(cov.cells[("archive", f"archive:{f}")]["content"] for f in ("zip", "tar.gz", "tar.bz2"))
    counts = cov.counts()
    assert counts["writes"]["tag"] == 1 and counts["writes_with_freshness"] == 1
    assert counts["rows_with_content"] == 5
    assert "help" in cov.uncovered() and cov.uncovered()["help"][1]  # with its reason
    assert cov.uncovered()["tags"][1] is None  # no reason: a gap


def test_an_hgweb_route_counts_on_another_site_through_its_page_kind():
    inv = inventory.Inventory("kallithea", "by hand", routes={"changelog_home": ["html"], "changeset_home": ["html"]},
                              kinds={"shortlog": ("changelog_home", "html"), "log": ("changelog_home", "html"),
                                     "rev": ("changeset_home", "html")})
    cov = coverage.build(KallitheaSite(), inv, _decls(
        {"route": "shortlog", "rep": "html", "aspect": "freshness", "write": "bookmark", "check": "t1"},
        {"route": "rev", "rep": "gitweb", "aspect": "content", "check": "t2"},  # no such form there
        {"route": "wire:known", "aspect": "content", "check": "t3"}))
    assert cov.cells[("changelog_home", "html")] == {"freshness": {"t1"}}
    assert not cov.cells[("changeset_home", "html")]
    assert cov.cells[("wire:known", "wire")]["content"] == {"t3"}
    assert [d["check"] for d in cov.unresolved] == ["t2"]


def test_coverage_lists_are_read_from_every_suites_module(tmp_path):
    (tmp_path / "headless").mkdir()
    (tmp_path / "headless" / "test_x.py").write_text(
        'COVERAGE = [{"route": "tags", "rep": "rss", "aspect": "freshness", "write": "tag", "check": "test_x"}]\n')
    (tmp_path / "other.py").write_text("X = 1\n")
    found = [d for d in coverage.declarations(tmp_path) if d["module"] != "headless/routes.py"]
    assert found == [{"route": "tags", "rep": "rss", "aspect": "freshness", "write": "tag", "check": "test_x",
                      "module": "headless/test_x.py"}]
    (tmp_path / "bad.py").write_text('COVERAGE = [{"route": "tags", "aspect": "looks", "check": "t"}]\n')
    with pytest.raises(ValueError, match="bad.py"):
        coverage.declarations(tmp_path)


def test_every_declared_check_is_a_test_of_the_suites():
    """A declaration names a test that exists (a renamed test must not leave its rows covered)."""
    defined = set()
    for path in (ROOT / "suites").rglob("test_*.py"):
        defined |= {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)}
    named = {d["check"] for d in coverage.declarations()}
    assert named and not named - defined, f"declared checks that are no test: {sorted(named - defined)}"


def test_every_declaration_speaks_of_a_row_of_some_site():
    """A declaration no site resolves is a typo (hgweb's web commands, Kallithea's route names, page kinds)."""
    hgweb = coverage.build(HgwebSite())
    lost = [d for d in hgweb.unresolved]
    python = inventory.kallithea_python()
    if python is not None:
        kallithea = coverage.build(KallitheaSite(), inventory.kallithea_inventory(KallitheaSite(), python))
        lost = [d for d in lost if _key(d) in {_key(u) for u in kallithea.unresolved}]
    else:
        lost = [d for d in lost if (d.get("kind") or d.get("route")) not in KallitheaSite.ROUTES
                and not _kallithea_route_name(d)]
    assert not lost, sorted({(d.get("route") or d.get("kind"), d.get("rep") or "", d["module"]) for d in lost})


def _key(d: dict) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in d.items()))


def _kallithea_route_name(d: dict) -> bool:
    """Without the Kallithea venv: a route name in Kallithea's style (REPO-level routes end in _home, ...)."""
    return "_" in (d.get("route") or "") and not (d.get("route") or "").startswith("wire:")


def test_a_declared_row_the_site_does_not_list_is_a_note():
    cov = coverage.build(HgwebSite(), decls=_decls({"route": "summary", "rep": "html", "aspect": "policy",
                                                    "check": "t_policy"}))
    assert ("summary", "html") in cov.cells  # paper has no summary view: the row is added, and said so
    assert "note: suites/test declares summary as html (t_policy), which hgweb does not list" in \
        coverage.format_table(cov)


def test_a_route_without_oracle_or_reason_is_a_gap():
    cov = coverage.build(HgwebSite(), decls=[])
    assert re.search(r"^  diff \[.*\]: GAP: no check asserts its content", coverage.format_table(cov), re.M)


def test_check_coverage_prints_the_table_and_names_routes_without_a_content_oracle():
    r = run_cli("check", "--coverage", env=clean_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert re.search(r"^rev \(= changeset\)\s+.*html:SC", out, re.M), out[:2000]
    assert re.search(r"^  help \[.*\]: Mercurial's own help text", out, re.M), out
    assert re.search(r"^  shortlog \[raw\]: the raw style has no shortlog", out, re.M), out
    assert re.search(r"^routes: \d+ \(\d+ with a content oracle", out, re.M)
    assert re.search(r"^representations with a content oracle: \d+ of \d+", out, re.M)
    assert re.search(r"^writes with a freshness check: \d of 4", out, re.M)


def test_the_summary_and_the_report_carry_the_table(tmp_path):
    from hgharness.reports.html import render
    from hgharness.reports.schema import validate_summary

    # without test_data_forms' declarations hgweb has gaps again (with them it has none): the report names them
    decls = [d for d in coverage.declarations() if d["module"] != "headless/test_data_forms.py"]
    cov = coverage.build(HgwebSite(), decls=decls).to_json()
    summary = _minimal_summary()
    summary["stages"] = [{"name": "headless", "status": "passed", "exit_code": 0, "coverage": cov}]
    assert validate_summary(summary) == []
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    page = render(tmp_path)
    assert 'id="coverage"' in page and "GAP" in page and "test_changeset_in_every_form" in page


def _minimal_summary() -> dict:
    return {"schema": "hgharness.run/1", "harness_version": "0", "run_id": "r", "command": "check",
            "started": "2026-12-04T00:00:00Z", "ended": "2026-12-04T00:00:01Z", "duration_s": 1.0,
            "target": {"url": "http://127.0.0.1:1/", "site": "hgweb"}, "verdict": "passed", "exit_code": 0,
            "stages": [], "tests": [], "actions": {}, "slo": [], "traffic": None, "warnings": []}
