"""Hostile repository metadata (`<script>`, quotes, javascript:, `<email>`...) is rendered escaped on every page
that shows it: changesets (and the fragments their pages load by script), history, files, branch/tag/bookmark lists, search results (including a reflected
query). One check per repository and page group; a failure names the page and the string or element."""

from __future__ import annotations

import pytest

from hgharness.suites.security.escaping import hostile_of, split_known
from hgharness.suites.support.http_checks import fetch, is_html
from hgharness.suites.support.known_issues import known_defect
from hgharness.suites.support.pagetext import parse
from hgharness.suites.support.table import from_plan

pytestmark = [pytest.mark.security, pytest.mark.nondestructive]

GROUPS = ("changesets", "history", "files", "names", "search")
FULL_VIEWS = 6  # hostile files also shown through annotate, diff and comparison
MAX_DIRS = 10   # directory listings of hostile files
SCRIPT_LOADED = ("changelog_details",)  # fragments the pages fetch by script (with the site's XHR headers)
SEARCH_PAYLOAD = "\"'><script>alert('hgharness-search')</script><img src=x onerror=alert('hgharness-search')>"


def pages(target, name, repo, h, group):
    """(label, path) of the pages of one group that show the repository's hostile strings."""
    site = target.site
    node = repo.hex
    param = site.PAGE_PARAM
    if group == "changesets":
        revs = list(dict.fromkeys(h.revs + [r for r, _f in h.files]))
        out = [("rev", f"rev {node(r)[:12]}", site.route("rev", name, rev=node(r))) for r in revs]
        if "changelog_details" in site.ROUTES:  # the changelog's per-changeset labels, loaded by its script
            out += [("changelog_details", f"changelog details {node(r)[:12]}",
                     site.route("changelog_details", name, rev=node(r))) for r in revs]
        return out
    if group == "history":
        out = [(kind, kind, site.route(kind, name)) for kind in ("summary", "shortlog", "log", "graph")
               if kind in site.ROUTES]
        out += [("log_from", f"log from {node(r)[:12]}", site.route("log_from", name, rev=node(r), **{param: 5}))
                for r in h.revs[:5]]
        return out
    if group == "files":
        out, dirs = [], {}
        for i, (r, f) in enumerate(h.files):
            # every hostile name on its file and history pages; the costlier views for the first few
            kinds = ("file", "filelog") + (("annotate", "diff", "comparison") if i < FULL_VIEWS else ())
            for kind in kinds:
                if kind in site.ROUTES:
                    out.append((kind, f"{kind} {f!r}@{node(r)[:12]}", site.route(kind, name, rev=node(r), path=f)))
            dirs.setdefault(f.rsplit("/", 1)[0] if "/" in f else "", r)
        for d, r in list(dirs.items())[:MAX_DIRS]:
            out.append(("manifest", f"directory {d!r}", site.route("manifest", name, rev=node(r), path=d)))
        return out
    if group == "names":
        out = [(kind, kind, site.route(kind, name)) for kind in ("tags", "branches", "bookmarks")
               if kind in site.ROUTES]
        # by name, as users link them; a name Mercurial refuses to create (':') by node (see KNOWN_ISSUES)
        refs = {**repo.tags(), **repo.bookmarks()}
        for label in h.tags + h.bookmarks:
            out.append(("rev", f"rev {label!r}", site.route("rev", name, rev=_ref(label, refs[label]))))
        branches = repo.branches()
        for label in h.branches:
            out.append(("log_from", f"log of branch {label!r}",
                        site.route("log_from", name, rev=_ref(label, branches[label]["node"]))))
        return out
    if group == "search" and "search" in site.ROUTES:
        queries = [SEARCH_PAYLOAD] + sorted(s for s in h.strings if "<" in s and "\n" not in s)[:2]
        return [("search", f"search {q[:30]!r}", site.route("search", name, rev=q)) for q in queries]
    return []


def _ref(label: str, node: str) -> str:
    return node if ":" in label else label


def group_rows(plan) -> list:
    return [pytest.param(name, g, id=f"{name}-{g}") for name in plan.checked for g in GROUPS]


@from_plan("escape_repo,escape_group", group_rows)
def test_hostile_metadata_escaped(target, http, plan, escape_repo, escape_group):
    repo = plan.repo(escape_repo)
    h = hostile_of(repo)
    strings = h.strings | ({SEARCH_PAYLOAD} if escape_group == "search" else set())
    verbatim = h.verbatim | ({SEARCH_PAYLOAD} if escape_group == "search" else set())
    # a hostile string that is exactly a tag the site's own templates emit (Kallithea: <b>author</b>) cannot be
    # told apart from that markup; any longer string holding it is still checked
    verbatim -= set(target.site.OWN_MARKUP)
    todo = pages(target, escape_repo, repo, h, escape_group)
    if not todo:
        pytest.skip(f"{escape_repo} shows no hostile string on {escape_group} pages")
    known_issues = target.site.KNOWN_ISSUES
    failures, known, checked = [], [], 0
    for kind, label, path in todo:
        r = fetch(http, target, path, what=f"{escape_repo} {label}",
                  headers=target.site.XHR_HEADERS if kind in SCRIPT_LOADED else None)
        if not is_html(r):
            continue
        checked += 1
        found, found_known = split_known(r.text, parse(r.text, r.url), strings, verbatim, known_issues, kind)
        if found:
            failures.append(f"{label} (/{path}): {', '.join(found[:3])}")
        if found_known:
            known.append(f"{label}: {', '.join(found_known[:2])}")
    assert not failures, f"{len(failures)} of {checked} {escape_group} pages of {escape_repo} render hostile " \
                         f"metadata unescaped: " + "; ".join(failures[:5])
    if known:
        why = "; ".join(sorted({i["id"] + ": " + i["why"] for i in known_issues if f"[{i['id']}]" in " ".join(known)}))
        known_defect(target, f"known {target.site_name} issue ({why}) seen on {len(known)} page(s): {known[0]}")
