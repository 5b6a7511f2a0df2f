"""One changeset, file, history or ref in every form the site gives it: each form must agree with the fixture (and
so with the others). A changeset: its page in every HTML style, its raw patch, json-rev's diff, its feed entries and the
changeset `getbundle` brings over the wire. A file: its page in every style, its annotate page, its one-member
archive, its history as JSON, atom and in every style. The history pages (log, shortlog, graph) in every style.
Refs: tags, branches and bookmarks in every style, raw, the
feeds, and `lookup` over the wire.

The default forms (paper, raw-file, json-tags ...) have their own tables (test_pages, test_json_feeds); these
are the other forms of the same data, where a site can go wrong in one template only.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from contextlib import closing

import pytest

from hgharness.suites.headless import representations as reps
from hgharness.suites.headless import wire
from hgharness.suites.headless.representations import (
    HISTORY,
    _data_style,
    _offered,
    _styles,
    file_rows,
    repo_rows,
    sample_rows,
)
from hgharness.suites.support import pagetext
from hgharness.suites.support.http_checks import fetch, page
from hgharness.suites.support.known_issues import diff_issue, known_defect, wire_argument_issue
from hgharness.suites.support.repodata import is_binary
from hgharness.suites.support.table import from_plan

pytestmark = [pytest.mark.headless, pytest.mark.nondestructive]

MAX_FILES, MAX_LINES = reps.MAX_FILES, reps.MAX_LINES
MAX_ANNOTATED = 64 * 1024  # bytes of a file whose annotate pages are asked in every style (10 MB pages past this)

# What these checks assert (suites/support/coverage.py reads it)
_STYLES = ("coal", "gitweb", "monoblue", "spartan")
COVERAGE = (
    [{"route": "rev", "rep": s, "aspect": "content", "check": "test_changeset_in_every_form"} for s in _STYLES]
    + [{"kind": "raw_rev", "aspect": "content", "check": "test_changeset_in_every_form"},
       {"kind": "json_rev", "aspect": "content", "check": "test_changeset_in_every_form"},
       {"kind": "atom_log", "aspect": "content", "check": "test_changeset_in_every_form"},
       {"kind": "rss_log", "aspect": "content", "check": "test_changeset_in_every_form"},
       {"route": "wire:getbundle", "aspect": "content", "check": "test_changeset_in_every_form"}]
    + [{"route": r, "rep": s, "aspect": "content", "check": "test_file_in_every_form"}
       for r in ("file", "annotate", "filelog") for s in _STYLES]
    + [{"route": "filelog", "rep": s, "aspect": "content", "check": "test_file_in_every_form"}
       for s in ("json", "atom", "rss")]
    + [{"kind": "archive", "aspect": "content", "check": "test_file_in_every_form"}]
    + [{"route": r, "rep": s, "aspect": "content", "check": "test_history_in_every_form"}
       for r in ("log", "shortlog", "graph") for s in _STYLES]
    + [{"route": "shortlog", "rep": "json", "aspect": "content", "check": "test_history_in_every_form"}]
    + [{"route": r, "rep": s, "aspect": "content", "check": "test_refs_in_every_form"}
       for r in ("tags", "branches") for s in (*_STYLES, "raw", "atom", "rss")]
    + [{"route": "bookmarks", "rep": s, "aspect": "content", "check": "test_refs_in_every_form"}
       for s in ("coal", "gitweb", "monoblue", "raw", "atom", "rss")]
    + [{"route": "wire:lookup", "aspect": "content", "check": "test_refs_in_every_form"}]
)


# --- one changeset ----------------------------------------------------------------------------------------------

@from_plan("sample", sample_rows)
def test_changeset_in_every_form(target, http, plan, sample):
    repo = plan.repo(sample.repo)
    info = repo.info(sample.rev)
    files = info["files"]
    manifest = repo.manifest(sample.rev)
    changed = repo.diff_files(sample.rev)[:MAX_FILES]
    want_lines = {f: repo.diff_lines(sample.rev, f)[:MAX_LINES] for f in changed}
    problems = []
    for style, params in _styles(target, "rev") if target.site.HTML_STYLES else []:
        route = target.site.route("rev", sample.repo, rev=info["node"], **params)
        _, p = page(http, target, route, expected_content=info["desc"])
        linked = reps.linked_files(p.hrefs(), target.url_for(sample.repo + "/"), info["node"])
        extra = sorted(linked - set(files))
        unlinked = sorted(f for f in files if f in manifest and f not in linked)
        unnamed = [f for f in files[:MAX_FILES] if f not in p.text]
        if extra or unlinked or unnamed:
            problems.append(f"{style} page lists files {sorted(linked)[:5]}: not of the changeset {extra[:3]}, "
                            f"not linked {unlinked[:3]}, not named {unnamed[:3]}")
        for f, lines in want_lines.items():
            missing = pagetext.lines_in_order(lines, p.flat)
            if missing is not None:
                problems.append(f"{style} page: diff of {f} lacks line {missing[:60]!r}")
                break
    problems += _raw_patch(target, http, repo, sample, info)
    problems += _json_rev(target, http, repo, sample, info)
    problems += _feed_entries(target, http, repo, sample, info)
    problems += _over_the_wire(target, repo, sample, info)
    assert not problems, f"changeset {info['short']} ({sample.id}): " + "; ".join(problems[:10])


def _raw_patch(target, http, repo, sample, info) -> list[str]:
    """The raw patch holds, file by file, the +/- lines of the fixture's own patch in the site's format."""
    if "raw_rev" not in target.site.ROUTES:
        return []
    if diff_issue(target, "raw_rev", *repo.diff_text(sample.rev)) is not None:
        return []  # a known defect of the site on such a diff: test_revision_page[raw_rev] reports it
    r = fetch(http, target, target.site.route("raw_rev", sample.repo, rev=info["node"]),
              expected_content=info["desc"])
    return reps.compare_patch("raw patch", reps.patch_files(r.content.decode("utf-8", "replace")), repo, sample.rev,
                              git=target.site.PATCH_GIT)


def _json_rev(target, http, repo, sample, info) -> list[str]:
    if "json_rev" not in target.site.ROUTES or not target.site.can("json"):
        return []
    r = fetch(http, target, target.site.route("json_rev", sample.repo, rev=info["node"]))
    data = json.loads(r.text)
    out = reps.compare_patch("json-rev", reps.json_diff_files(data.get("diff", [])), repo, sample.rev,
                             git=target.site.PATCH_GIT)
    listed = [f.get("file") for f in data.get("files", [])]
    if listed != info["files"]:
        out.append(f"json-rev lists files {listed[:5]}, the changeset has {info['files'][:5]}")
    return out


def _feed_entries(target, http, repo, sample, info) -> list[str]:
    """The feeds' entry of the changeset, when it is among the newest (hgweb's entries list its files)."""
    if not target.site.FEED_LISTS_FILES or not target.site.can("feeds") or \
            sample.rev not in repo.revs_desc[:target.site.FEED_ENTRIES or 10]:
        return []
    out = []
    for kind, read in (("atom_log", reps.atom_entry_files), ("rss_log", reps.rss_entry_files)):
        root = ET.fromstring(fetch(http, target, target.site.route(kind, sample.repo)).content)
        got = read(root, info["node"])
        if got is None:
            out.append(f"{kind} has no entry for it")
        elif got != info["files"][:target.site.FEED_MAX_FILES]:
            out.append(f"{kind} entry lists files {got[:5]} ({len(got)}), the changeset has {info['files'][:5]} "
                       f"({len(info['files'])}; a feed lists {target.site.FEED_MAX_FILES} at most)")
    return out


def _over_the_wire(target, repo, sample, info) -> list[str]:
    """`getbundle` of the changeset alone (common: its parents) brings exactly it, its text hashing to its node
    and saying what the fixture says."""
    from mercurial.utils import storageutil

    ctx = repo.ctx(sample.rev)
    parents = [p.node() for p in ctx.parents() if p.rev() != -1]
    got = reps.wire_changesets(target, sample.repo, repo.repo, ctx.node(), parents)
    if [n for n, *_ in got] != [ctx.node()]:
        return [f"getbundle of it alone brings {len(got)} changesets {[n.hex()[:12] for n, *_ in got][:4]}"]
    node, p1, p2, text = got[0]
    if text is None or storageutil.hashrevisionsha1(text, p1, p2) != node:
        return ["getbundle brings a changeset text that does not hash to its node"]
    entry = reps.parse_changeset_text(text)
    diffs = [k for k in ("user", "date", "files", "desc") if entry[k] != info[k]]
    return [f"getbundle's changeset differs from the fixture in {diffs}"] if diffs else []


# --- one file ----------------------------------------------------------------------------------------------------

def _text_lines(data: bytes) -> list[str] | None:
    if is_binary(data):
        return None
    s = data.decode("utf-8", "replace")
    return None if "\ufffd" in s else s.split("\n")[:MAX_LINES]


@from_plan("sample", file_rows)
def test_file_in_every_form(target, http, plan, sample):
    site = target.site
    if not (site.HTML_STYLES or site.DATA_STYLES or site.ARCHIVE_FILE_PARAM):
        pytest.skip(f"site {target.site_name!r} gives a file in no other form than its page, raw file and annotate "
                    "(test_file_page checks those)")
    repo = plan.repo(sample.repo)
    files = sorted((f for f in plan.files(sample) if repo.flags(sample.rev, f) != "l"),
                   key=lambda f: len(repo.data(sample.rev, f)))  # the smallest: an annotate page is 20x the file
    if not files:
        pytest.skip(f"{sample.id} has no regular file")
    path, node = files[0], repo.hex(sample.rev)
    data = repo.data(sample.rev, path)
    lines = _text_lines(data)
    problems = []
    history = [repo.hex(r)[:12] for r in (repo.file_history_all(path) if site.FILELOG_WHOLE_FILE
                                          else repo.file_history(sample.rev, path))[:HISTORY]]
    for style, params in _styles(target, "file")[1:]:
        for kind in ("file", "annotate") if len(data) <= MAX_ANNOTATED else ("file",):
            _, p = page(http, target, site.route(kind, sample.repo, rev=node, path=path, **params),
                        expected_content=data.decode("utf-8", "replace"))
            missing = pagetext.lines_in_order(lines, p.flat) if lines is not None else None
            if missing is not None:
                problems.append(f"{style} {kind} page lacks line {missing[:60]!r}")
        _, p = page(http, target, site.route("filelog", sample.repo, rev=node, path=path,
                                             **{site.PAGE_PARAM: HISTORY}, **params))
        got = pagetext.changeset_links(p, target, sample.repo)
        if not pagetext.contiguous(history, got):
            problems.append(f"{style} file history lists {got[:5]}, expected {history[:5]}")
    problems += _file_data_styles(target, http, sample, path, node, history)
    problems += _archive_member(target, http, sample, path, node, data)
    assert not problems, f"file {path}@{node[:12]} ({sample.id}): " + "; ".join(problems[:10])


def _file_data_styles(target, http, sample, path, node, history) -> list[str]:
    out = []
    params = _data_style(target, "json")
    if params:
        r = fetch(http, target, target.site.route("filelog", sample.repo, rev=node, path=path,
                                                  **{target.site.PAGE_PARAM: HISTORY}, **params))
        got = [e.get("node", "")[:12] for e in json.loads(r.text).get("entries", [])]
        if got[:len(history)] != history:
            out.append(f"json file history lists {got[:5]}, expected {history[:5]}")
    for style in ("atom", "rss"):
        params = _data_style(target, style)
        if params:
            root = ET.fromstring(fetch(http, target, target.site.route("filelog", sample.repo, rev=node,
                                                                       path=path, **params)).content)
            links = [link for _, link in reps.feed_titles(root)]
            got = [next((h for h in history if h in link), "?") for link in links]
            if got[:len(history)] != history[:len(got)] or not got:
                out.append(f"{style} file history links {got[:5]}, expected {history[:5]}")
    return out


def _archive_member(target, http, sample, path, node, data) -> list[str]:
    """An archive limited to the one file holds exactly it, byte for byte."""
    from hgharness.suites.headless.archives import read_members, strip_prefix

    param = target.site.ARCHIVE_FILE_PARAM
    if not param or not target.site.can("archives"):
        return []
    r = fetch(http, target, target.site.route("archive", sample.repo, rev=node, fmt="zip", **{param: path}))
    _, members = strip_prefix(read_members(r.content, "zip"))
    members.pop(target.site.ARCHIVE_META or "", None)
    if sorted(members) != [path]:
        return [f"the archive of it alone holds {sorted(members)[:5]}"]
    if members[path][1] != data:
        return [f"its archive member has {len(members[path][1])} bytes, not the fixture's {len(data)}"]
    return []


# --- history ------------------------------------------------------------------------------------------------

HISTORY_ROUTES = ("log", "shortlog", "graph")
UNORDERED_HISTORY = ("spartan",)  # styles whose history links are not one per entry in order: every one, tip first


@from_plan("repo_name", repo_rows)
def test_history_in_every_form(target, http, plan, repo_name):
    """The first page of log, shortlog and graph in every other style lists the newest changesets in order (the
    default style: test_repository_page), and shortlog as JSON too."""
    if not target.site.HTML_STYLES:
        pytest.skip(f"site {target.site_name!r} has one form of its history pages (test_repository_page checks it)")
    repo, site, problems = plan.repo(repo_name), target.site, []
    want = [repo.hex(r)[:12] for r in repo.revs_desc[:HISTORY]]
    for route in HISTORY_ROUTES:
        for style, params in _styles(target, route)[1:]:
            _, p = page(http, target, site.route(route, repo_name, **{site.PAGE_PARAM: HISTORY}, **params))
            got = [n for n in pagetext.changeset_links(p, target, repo_name) if n in want]
            if style in UNORDERED_HISTORY:  # each entry links its parents and children beside it
                got = [n for n in want if n in got] if got[:1] == want[:1] else got
            if got != want:
                problems.append(f"{style} {route} lists {got[:5]} ({len(got)} of the newest {len(want)}), the "
                                f"newest are {want[:5]}")
    params = _data_style(target, "json")
    if params:
        data = json.loads(fetch(http, target, site.route("shortlog", repo_name, **{site.PAGE_PARAM: HISTORY},
                                                         **params)).text)
        got = [e.get("node", "")[:12] for e in data.get("changesets", [])]
        if got != want:
            problems.append(f"json shortlog lists {got[:5]}, the newest are {want[:5]}")
    assert not problems, f"history of {repo_name}: " + "; ".join(problems[:10])


# --- refs ------------------------------------------------------------------------------------------------------

@from_plan("repo_name", repo_rows)
def test_refs_in_every_form(target, http, plan, repo_name):
    repo = plan.repo(repo_name)
    refs = {"tags": repo.tags(), "bookmarks": repo.bookmarks(),
            "branches": {n: b["node"] for n, b in repo.branches().items()}}
    site, problems = target.site, []
    for kind, names in refs.items():
        if kind not in site.ROUTES:
            continue
        shown = sorted(names.items())[:50]
        for style, params in _styles(target)[1:]:
            if style not in _offered(target, kind):
                continue  # the style has no such page (spartan: bookmarks)
            _, p = page(http, target, site.route(kind, repo_name, **params))
            wrong = [n for n, node in shown if n not in p.text or not (pagetext.node_after(p.stream, n, node[:12])
                                                                      or pagetext.node_before(p.stream, n, node[:12]))]
            if wrong:
                problems.append(f"{style} {kind} page does not show {wrong[:3]} at their changesets")
        problems += _ref_data_styles(target, http, repo_name, kind, dict(shown))
    left_out: list[str] = []
    problems += _refs_over_the_wire(target, repo, repo_name, refs, left_out)
    assert not problems, f"refs of {repo_name}: " + "; ".join(problems[:10])
    if left_out:
        known_defect(target, f"{len(left_out)} names not looked up: {left_out[0]}")


def _ref_data_styles(target, http, repo_name, kind, names: dict) -> list[str]:
    out = []
    params = _data_style(target, "raw")
    if params:
        got = reps.raw_refs(fetch(http, target, target.site.route(kind, repo_name, **params)).text)
        got.pop("tip", None)
        if kind == "tags" and got != names or kind != "tags" and {k: got.get(k) for k in names} != names:
            out.append(f"raw {kind}: {sorted(got.items())[:3]} != {sorted(names.items())[:3]}")
    for style in ("atom", "rss"):
        params = _data_style(target, style)
        if params:
            root = ET.fromstring(fetch(http, target, target.site.route(kind, repo_name, **params)).content)
            entries = {title.strip(): link for title, link in reps.feed_titles(root)}
            wrong = [n for n, node in names.items() if node[:12] not in entries.get(n, "")]
            if wrong:
                out.append(f"{style} {kind} feed lacks {wrong[:3]} at their changesets")
    return out


def _refs_over_the_wire(target, repo, repo_name, refs, left_out: list) -> list[str]:
    """`lookup` of every tag, bookmark and branch name answers what the fixture's own lookup answers (a name
    held by several kinds resolves the same way on both sides). A name the site is known to fail on is left out
    (into `left_out`)."""
    out = []
    with closing(wire.peer(target, repo_name)) as remote:
        for kind, names in refs.items():
            for name in sorted(names)[:20]:
                issue = wire_argument_issue(target, name)
                if issue is not None:
                    left_out.append(f"lookup {name!r}: known {issue['id']}: {issue['why']}")
                    continue
                want = repo.repo.lookup(name.encode()).hex()
                try:
                    got = remote.lookup(name.encode()).hex()
                except Exception as e:  # the server's RepoLookupError (unknown name), or an HTTP error
                    got = f"an error ({type(e).__name__}: {str(e)[:60]})"
                if got != want:
                    out.append(f"lookup {name!r} ({kind[:-1]}) answers {got[:12]}, not {want[:12]}")
    return out
