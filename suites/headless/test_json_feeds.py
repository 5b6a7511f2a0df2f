"""JSON views and feeds, compared with the repository: nodes, authors, descriptions, branches, tags,
bookmarks and parents in json-log/json-rev; every tag, branch and bookmark in their JSON lists; atom and rss
parse as XML and carry the newest changesets in order."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from hgharness.suites.headless.routes import DATA_VIEWS
from hgharness.suites.support.http_checks import fetch
from hgharness.suites.support.known_issues import known_defect, stale_feed_issue
from hgharness.suites.support.table import RepoCase, Table, from_plan

pytestmark = [pytest.mark.headless, pytest.mark.nondestructive]

JSON_LOG_PAGE = 20
ATOM = "{http://www.w3.org/2005/Atom}"
HEX = re.compile(r"[0-9a-f]{12,40}")
STALE_SCAN = 5000   # how far below the tip a stale feed is recognised (older: a plain failure)
REPO_ROWS = Table(DATA_VIEWS)


def get_json(c, kind, **kw):
    r = fetch(c.http, c.target, c.route(kind, **kw))
    ctype = r.headers.get("Content-Type", "")
    assert "json" in ctype, f"{kind} of {c.name}: Content-Type {ctype!r}, expected JSON"
    try:
        return json.loads(r.text)
    except ValueError as e:
        pytest.fail(f"{kind} of {c.name} is not JSON: {e}")


def _entry_diff(got: dict, info: dict, parents: list[str]) -> list[str]:
    diffs = []
    for key in ("node", "desc", "user", "branch"):
        if "\ufffd" not in info[key] and got.get(key) != info[key]:
            diffs.append(f"{key} {got.get(key)!r} != {info[key]!r}")
    for key in ("tags", "bookmarks"):
        if sorted(got.get(key, [])) != info[key]:
            diffs.append(f"{key} {sorted(got.get(key, []))} != {info[key]}")
    if "date" in got and [float(x) for x in got["date"]] != info["date"]:
        diffs.append(f"date {got['date']} != {info['date']}")
    if got.get("parents") != parents:
        diffs.append(f"parents {got.get('parents')} != {parents}")
    return diffs


@REPO_ROWS.check("json_log")
def check_json_log(c):
    data = get_json(c, "json_log", **{c.target.site.PAGE_PARAM: JSON_LOG_PAGE})
    revs = c.repo.revs_desc[:JSON_LOG_PAGE]
    assert data.get("changeset_count") == len(c.repo), \
        f"json-log of {c.name}: changeset_count {data.get('changeset_count')}, repository has {len(c.repo)}"
    got = data.get("changesets", [])
    want_nodes = [c.repo.hex(r) for r in revs]
    got_nodes = [e.get("node") for e in got]
    assert got_nodes == want_nodes, f"json-log of {c.name}: nodes {[n[:12] for n in got_nodes if n]} != " \
                                    f"{[n[:12] for n in want_nodes]}"
    for e, r in zip(got, revs, strict=True):
        info = c.repo.info(r)
        diffs = _entry_diff(e, info, info["parents"])
        assert not diffs, f"json-log of {c.name}, {info['short']}: {'; '.join(diffs)}"


@REPO_ROWS.check("json_rev")
def check_json_rev(c):
    for s in c.plan.samples(c.name):
        info = c.repo.info(s.rev)
        data = get_json(c, "json_rev", rev=info["node"])
        diffs = _entry_diff(data, info, info["parents"])
        files = [f.get("file") for f in data.get("files", [])]
        want = info["files"]
        if files != want:
            diffs.append(f"files {files[:5]} != {want[:5]}")
        assert not diffs, f"json-rev {s.id} ({info['short']}): {'; '.join(diffs)}"


@REPO_ROWS.check("json_tags")
def check_json_tags(c):
    data = get_json(c, "json_tags")
    got = {t.get("tag"): t.get("node") for t in data.get("tags", [])}
    assert got == c.repo.tags(), f"json-tags of {c.name}: {_dict_diff(got, c.repo.tags())}"


@REPO_ROWS.check("json_bookmarks")
def check_json_bookmarks(c):
    data = get_json(c, "json_bookmarks")
    got = {b.get("bookmark"): b.get("node") for b in data.get("bookmarks", [])}
    assert got == c.repo.bookmarks(), f"json-bookmarks of {c.name}: {_dict_diff(got, c.repo.bookmarks())}"


@REPO_ROWS.check("json_branches")
def check_json_branches(c):
    data = get_json(c, "json_branches")
    got = {b.get("branch"): {"node": b.get("node"), "status": b.get("status")} for b in data.get("branches", [])}
    want = c.repo.branches()
    assert got == want, f"json-branches of {c.name}: {_dict_diff(got, want)}"


def _dict_diff(got: dict, want: dict) -> str:
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    wrong = sorted(k for k in set(got) & set(want) if got[k] != want[k])
    parts = []
    if missing:
        parts.append(f"missing {missing[:5]}")
    if extra:
        parts.append(f"unexpected {extra[:5]}")
    if wrong:
        parts.append("wrong " + ", ".join(f"{k}: {got[k]} != {want[k]}" for k in wrong[:3]))
    return "; ".join(parts)


def _feed(c, kind):
    r = fetch(c.http, c.target, c.route(kind))
    ctype = r.headers.get("Content-Type", "")
    assert "xml" in ctype, f"{kind} of {c.name}: Content-Type {ctype!r}, expected an XML type"
    try:
        return ET.fromstring(r.content)
    except ET.ParseError as e:
        pytest.fail(f"{kind} of {c.name} is not XML: {e}")


def _check_feed_order(c, kind, ids: list[str], links: list[list[str]]):
    """Entries are the newest changesets, newest first, and each entry's link leads to its own changeset.

    A feed that is a whole window of the history, in order, but ending below the tip is a stale feed: a failure,
    or the site's known defect when its adapter declares one (Kallithea 0.7.0 caches its feeds for 7 days,
    never invalidated by a push: every run after a push would otherwise fail on a healthy site)."""
    revs = c.repo.revs_desc
    n = min(len(revs), c.target.site.FEED_ENTRIES or len(ids))
    want = [c.repo.hex(r)[:12] for r in revs[:n]]
    short = [want[r] if r is not None else "?" for r in _ranks(ids, want)]
    if short == want:
        _check_links(kind, c, short, links)
        return
    # not the newest: which changesets then, looked up deeper in the history (only now: a healthy feed never is)
    found = _ranks(ids, [c.repo.hex(r)[:12] for r in revs[:STALE_SCAN]])
    first = found[0] if found else None
    stale = (first is not None and first > 0 and len(found) == min(n, len(revs) - first)
             and found == list(range(first, first + len(found))))
    assert stale, f"{kind} of {c.name}: entries {short} != newest {want}"
    window = [c.repo.hex(revs[r])[:12] for r in found]
    _check_links(kind, c, window, links)
    issue = stale_feed_issue(c.target, kind)
    behind = (f"{kind} of {c.name} is stale: its entries are the newest changesets as of {window[0]}, {first} "
              f"changesets below the tip {want[0]}")
    assert issue is not None, behind
    known_defect(c.target, f"{behind}: known {issue['id']}: {issue['why']}")


def _ranks(ids: list[str], nodes: list[str]) -> list[int | None]:
    """Which of `nodes` (short hashes, newest first) each feed entry names: the first node in its id or links,
    as its rank from the tip (None: none of them)."""
    rank = {node: i for i, node in enumerate(nodes)}
    return [next((rank[m.group(0)[:12]] for m in HEX.finditer(i) if m.group(0)[:12] in rank), None) for i in ids]


def _check_links(kind, c, nodes: list[str], links: list[list[str]]):
    wrong = [(node, hrefs) for node, hrefs in zip(nodes, links, strict=False)
             if hrefs and not any(node in h for h in hrefs)]
    assert not wrong, (f"{kind} of {c.name}: the entry for {wrong[0][0]} links elsewhere ({wrong[0][1][0]}); "
                       f"{len(wrong)} entries so")


@REPO_ROWS.check("atom_log")
def check_atom(c):
    root = _feed(c, "atom_log")
    assert root.tag == ATOM + "feed", f"atom-log of {c.name}: root element {root.tag!r}, expected an Atom feed"
    entries = root.findall(ATOM + "entry")
    links = [[x.get("href", "") for x in e.findall(ATOM + "link")] for e in entries]
    ids = [(e.findtext(ATOM + "id") or "") + " " + " ".join(hrefs) for e, hrefs in zip(entries, links, strict=True)]
    _check_feed_order(c, "atom-log", ids, links)


@REPO_ROWS.check("rss_log")
def check_rss(c):
    root = _feed(c, "rss_log")
    assert root.tag == "rss", f"rss-log of {c.name}: root element {root.tag!r}, expected rss"
    items = root.findall("./channel/item")
    links = [[i.findtext("link")] if i.findtext("link") else [] for i in items]
    ids = [(i.findtext("guid") or "") + " " + " ".join(hrefs) for i, hrefs in zip(items, links, strict=True)]
    _check_feed_order(c, "rss-log", ids, links)


@REPO_ROWS.check("capabilities", needs="browse")
def check_capabilities(c):
    r = fetch(c.http, c.target, c.route("capabilities"), headers=c.target.site.WIRE_HEADERS)
    caps = r.text.split()
    names = {cap.split("=", 1)[0] for cap in caps}
    missing = {"lookup", "branchmap", "pushkey", "known", "getbundle", "unbundle", "batch"} - names
    assert not missing, f"wire protocol capabilities of {c.name} lack {sorted(missing)} (got {sorted(names)})"


@from_plan("data_kind,repo_name", lambda plan: REPO_ROWS.rows(plan.checked))
def test_data_view(target, http, plan, data_kind, repo_name):
    REPO_ROWS.run(data_kind, RepoCase(target, http, plan, repo_name))


@pytest.mark.needs("json")
def test_json_index_lists_every_repository(target, http, plan):
    r = fetch(http, target, target.site.route("json_index"))
    names = {e.get("name", "").strip("/") for e in json.loads(r.text).get("entries", [])}
    missing = sorted(set(plan.paths) - names)
    assert not missing, f"the JSON index does not list {missing}"
