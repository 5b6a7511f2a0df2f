"""Table-driven checks of the pages of a whole repository (and of the site index): history pages have the
right entries in the right order and paginate; tag, branch and bookmark lists match the repository."""

from __future__ import annotations

import urllib.parse

import pytest

from hgharness.errors import HarnessError
from hgharness.suites.headless.routes import REPOSITORY_PAGES
from hgharness.suites.support import pagetext
from hgharness.suites.support.http_checks import page
from hgharness.suites.support.table import RepoCase, Table, from_plan

pytestmark = [pytest.mark.headless, pytest.mark.nondestructive]

PAGE = 5        # entries per page asked of history pages
MAX_PAGES = 4   # pages followed through the site's own "next" links
MAX_NAMES = 50  # tags, branches, bookmarks compared on their pages

REPO_ROWS = Table(REPOSITORY_PAGES)


def check_history(c, kind):
    """The first page has the newest PAGE changesets in order; the site's link to the next page leads to the
    next PAGE, and so on for a few pages."""
    expected = [c.repo.hex(r)[:12] for r in c.repo.revs_desc]
    param = c.target.site.PAGE_PARAM
    path = c.route(kind, **{param: PAGE})
    for n in range(MAX_PAGES):
        want = expected[n * PAGE:(n + 1) * PAGE]
        if not want:
            return
        _, p = page(c.http, c.target, path)
        got = pagetext.changeset_links(p, c.target, c.name)
        assert pagetext.contiguous(want, got), f"{kind} of {c.name}, page {n + 1}: expected {want}, lists {got}"
        after = expected[(n + 1) * PAGE:(n + 1) * PAGE + 1]
        if not after:
            return
        assert after[0] not in got[got.index(want[0]):], (
            f"{kind} of {c.name}, page {n + 1}: shows more than {PAGE} entries ({param}={PAGE})")
        if c.target.site.NUMBERED_PAGES:
            nxt = _numbered_link(p, n + 2, param)
        else:
            nxt = _next_link(p, after[0], param)
        assert nxt, f"{kind} of {c.name}, page {n + 1}: no link to the next page (starting at {after[0]})"
        assert nxt.startswith(c.target.url), f"{kind} of {c.name}: next-page link {nxt} leaves the site"
        path = nxt[len(c.target.url):]


def _next_link(p, node12: str, param: str) -> str | None:
    """A link on the page to a history page starting at `node12` with the same page size."""
    for url in p.hrefs():
        parts = urllib.parse.urlsplit(url)
        q = urllib.parse.parse_qs(parts.query)
        if node12 in parts.path and q.get(param) == [str(PAGE)]:
            return url
    return None


def _numbered_link(p, number: int, param: str) -> str | None:
    """A link on the page to page `number` of the same history, for sites that number their pages."""
    here = urllib.parse.urlsplit(p.url).path
    for url in p.hrefs():
        parts = urllib.parse.urlsplit(url)
        q = urllib.parse.parse_qs(parts.query)
        if parts.path == here and q.get("page") == [str(number)] and q.get(param, [str(PAGE)]) == [str(PAGE)]:
            return url
    return None


@REPO_ROWS.check("log")
def check_log(c):
    check_history(c, "log")


@REPO_ROWS.check("shortlog")
def check_shortlog(c):
    check_history(c, "shortlog")


@REPO_ROWS.check("graph")
def check_graph(c):
    expected = [c.repo.hex(r)[:12] for r in c.repo.revs_desc][:PAGE]
    _, p = page(c.http, c.target, c.route("graph", **{c.target.site.PAGE_PARAM: PAGE}))
    got = pagetext.changeset_links(p, c.target, c.name)
    assert pagetext.contiguous(expected, got), f"graph of {c.name}: expected {expected}, lists {got}"


@REPO_ROWS.check("summary")
def check_summary(c):
    _, p = page(c.http, c.target, c.route("summary"))
    if not c.repo.revs_desc:
        return  # an empty repository: the page answers, there is no tip to show
    tip = c.repo.hex(c.repo.revs_desc[0])[:12]
    got = pagetext.changeset_links(p, c.target, c.name)
    assert tip in got or tip in p.text, f"front page of {c.name} does not show tip {tip}"


def _check_names(c, kind, names: dict[str, str]):
    _, p = page(c.http, c.target, c.route(kind))
    for name, node in sorted(names.items())[:MAX_NAMES]:
        assert name in p.text, f"{kind} page of {c.name} does not list {name!r}"
        assert node[:12] in p.stream, f"{kind} page of {c.name} does not show or link {node[:12]} for {name!r}"
        if c.target.site.NAME_THEN_NODE:  # the row's changeset, not just any row's
            assert pagetext.node_after(p.stream, name, node[:12]), (
                f"{kind} page of {c.name} does not show {name!r} at {node[:12]} (another changeset follows it)")


@REPO_ROWS.check("tags")
def check_tags(c):
    _check_names(c, "tags", c.repo.tags())


@REPO_ROWS.check("bookmarks")
def check_bookmarks(c):
    _check_names(c, "bookmarks", c.repo.bookmarks())


@REPO_ROWS.check("branches")
def check_branches(c):
    _check_names(c, "branches", {n: b["node"] for n, b in c.repo.branches().items()})


@from_plan("repo_kind,repo_name", lambda plan: REPO_ROWS.rows(plan.checked))
def test_repository_page(target, http, plan, repo_kind, repo_name):
    REPO_ROWS.run(repo_kind, RepoCase(target, http, plan, repo_name))


def test_index_links_every_repository(target, http, plan):
    r, p = page(http, target, target.site.route("index"))
    try:
        listed = target.site.index_listed(r.text)
    except HarnessError as e:  # no readable list on the page: the target's fault, not the harness's
        pytest.fail(f"the index lists no repositories: {e}")
    if listed is not None:  # the site lists repositories as script data, not links (Kallithea): read that
        missing = [n for n in plan.paths if n not in set(listed)]
        assert not missing, f"the index does not list {missing}"
        return
    linked = {u.split("?", 1)[0].rstrip("/") for u in p.hrefs()}
    missing = [n for n in plan.paths if target.url_for(target.site.route("summary", n)).rstrip("/") not in linked]
    assert not missing, f"the index does not link to {missing}"
