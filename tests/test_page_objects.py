"""The page objects' wiring, without a browser: every page a navigation names exists on its site (names are
looked up when a flow runs, so a typo would otherwise show only then), and the site entry points pass their
arguments to the route the way the flows call them."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from hgharness.suites.pages.base import Page
from hgharness.suites.pages.hgweb import HgwebSite
from hgharness.suites.pages.hgweb.common import HgwebPage
from hgharness.suites.pages.kallithea import KallitheaSite
from hgharness.suites.pages.kallithea.common import KallitheaPage

PAGES_DIR = Path(__file__).resolve().parents[1] / "suites" / "pages"
NAVIGATIONS = {"follows", "follows_named", "_follow", "_follow_text", "_next", "_navigate", "_page"}


def named_targets(path: Path) -> set[str]:
    """The page names a module passes to a navigation helper."""
    found = set()
    for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(call, ast.Call) and getattr(call.func, "attr", getattr(call.func, "id", "")) in NAVIGATIONS:
            found |= {c.value for arg in call.args for c in ast.walk(arg)
                      if isinstance(c, ast.Constant) and isinstance(c.value, str) and c.value.endswith("Page")}
    return found


@pytest.mark.parametrize("site, base", [("hgweb", HgwebPage), ("kallithea", KallitheaPage)])
def test_every_page_a_navigation_names_is_a_page_of_the_site(site, base):
    named = set().union(*(named_targets(p) for p in (PAGES_DIR / site).glob("*.py")))
    assert named, f"no navigation found in suites/pages/{site}"
    assert named <= set(base.PAGES), f"{site} pages named but not defined: {sorted(named - set(base.PAGES))}"
    assert all(issubclass(cls, base) and cls.LOADED for cls in base.PAGES.values())


def test_each_site_keeps_its_own_pages():
    assert HgwebPage.PAGES["ChangesetPage"] is not KallitheaPage.PAGES["ChangesetPage"]
    assert not Page.PAGES


class Recorded:
    """A site whose entry points report what they would open instead of opening it."""

    def open(self, page, repo=None, rev=None, path=None, **query):
        return page.__name__, repo, rev, path, query


class HgwebRecorded(Recorded, HgwebSite):
    pass


class KallitheaRecorded(Recorded, KallitheaSite):
    pass


def test_entry_points_fill_the_route_as_the_flows_call_them():
    hgweb, kallithea = HgwebRecorded(None, None), KallitheaRecorded(None, None)
    assert hgweb.index() == ("IndexPage", None, None, None, {})
    assert hgweb.log("r", revcount=3) == ("LogPage", "r", None, None, {"revcount": 3})
    assert hgweb.browse("r", "abc") == ("ManifestPage", "r", "abc", "", {})
    assert hgweb.file("r", "abc", "d/f") == ("FilePage", "r", "abc", "d/f", {})
    assert kallithea.files("r") == ("FilesPage", "r", "tip", "", {})
    assert kallithea.pull_request("r", 7) == ("PullRequestPage", "r", "7", None, {})
    assert str(inspect.signature(HgwebSite.changeset)).startswith("(self, repo, rev)")
    with pytest.raises(TypeError):
        hgweb.changeset("r")
