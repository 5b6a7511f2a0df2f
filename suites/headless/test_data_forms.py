"""The other forms of a file's diff, annotate and content, of a directory listing, of the history and of the
front pages (issue #18's gaps after test_representations): each compared with the fixture, one changeset and
one file per repository (the cost stays small).

- a file at a changeset: json-file's lines, json-annotate's lines and their changesets, the raw annotate's lines;
  its diff in every HTML style, raw and JSON; its comparison in every HTML style (the added lines);
- the top directory: json-manifest's files and directories, the raw listing, every HTML style's links;
- the history as raw log, raw graph and json graph (the newest changesets, in order);
- the summary as JSON and in gitweb and monoblue (the newest changesets, the tags), the index in every style.
"""

from __future__ import annotations

import json
import re
import urllib.parse

import pytest

from hgharness.suites.headless import representations as reps
from hgharness.suites.headless.representations import (
    HISTORY,
    _data_style,
    _styles,
    repo_rows,
    sample_rows,
)
from hgharness.suites.support import pagetext
from hgharness.suites.support.http_checks import fetch, page
from hgharness.suites.support.table import from_plan

pytestmark = [pytest.mark.headless, pytest.mark.nondestructive]

MAX_LINES = 200
MAX_BYTES = 64 * 1024  # a file bigger than this is not sampled (an annotate page is 20x the file)
_STYLES = ("coal", "gitweb", "monoblue", "spartan")
_HTML_DIFF, _DATA = "test_file_diff_in_every_style", "test_file_data_in_every_form"
COVERAGE = (
    [{"route": "diff", "rep": s, "aspect": "content", "check": _HTML_DIFF} for s in _STYLES]
    + [{"route": "comparison", "rep": s, "aspect": "content", "check": _HTML_DIFF}
       for s in ("coal", "gitweb", "monoblue")]
    + [{"route": r, "rep": s, "aspect": "content", "check": _DATA}
       for r, s in (("diff", "raw"), ("diff", "json"), ("comparison", "json"), ("file", "json"),
                    ("annotate", "json"), ("annotate", "raw"))]
    + [{"route": "manifest", "rep": s, "aspect": "content", "check": "test_listing_in_every_form"}
       for s in (*_STYLES, "raw", "json")]
    + [{"route": r, "rep": s, "aspect": "content", "check": "test_history_data_in_every_form"}
       for r, s in (("log", "raw"), ("graph", "raw"), ("graph", "json"))]
    + [{"route": "summary", "rep": s, "aspect": "content", "check": "test_summary_in_every_form"}
       for s in ("gitweb", "monoblue", "json")]
    + [{"route": "index", "rep": s, "aspect": "content", "check": "test_index_in_every_form"}
       for s in (*_STYLES, "raw")]
)


def _sampled_file(repo, rev) -> str | None:
    """A text file the changeset modifies or adds (the smallest): it has a diff, a comparison and an annotate."""
    ctx = repo.ctx(rev)
    st = ctx.p1().status(ctx)
    names = [f.decode("utf-8", "surrogateescape") for f in st.modified + st.added]
    ok = []
    for f in names:
        if repo.flags(rev, f) == "l":
            continue
        data = repo.data(rev, f)
        if len(data) <= MAX_BYTES and b"\0" not in data:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            ok.append((len(data), f))
    return min(ok)[1] if ok else None


def _marked_diff(repo, rev, path: str) -> list[str]:
    """The +/- lines of the file's diff against the first parent, with their marker."""
    from mercurial import diffutil, patch

    ctx = repo.repo[rev]
    m = ctx.match([b"path:" + path.encode("utf-8", "surrogateescape")])
    out = []
    for chunk in patch.diff(repo.repo, ctx.p1().node(), ctx.node(), match=m,
                            opts=diffutil.diffallopts(repo.repo.ui)):
        # lines end at "\n" only, as in the site's text: a CRLF line keeps its "\r", a lone "\r" stays inside
        out += [ln.decode("utf-8", "replace") for ln in chunk.split(b"\n")
                if ln[:1] in (b"+", b"-") and not ln.startswith((b"+++ ", b"--- "))]
    return out


def _pick(plan, repo_name):
    """The first sample (tip, rename, merge, root) that changes a small text file other than .hgtags, and it."""
    repo = plan.repo(repo_name)
    found = [(s, _sampled_file(repo, s.rev)) for s in (p.values[0] for p in sample_rows(plan, per_repo=4))
             if s.repo == repo_name]
    return next(((s, f) for s, f in found if f and f != ".hgtags"), next(((s, f) for s, f in found if f),
                                                                       (None, None)))


def _file_case(target, plan, repo_name):
    """(repo, sample, path, node, the file's lines, its diff's +/- lines) of the sampled file, or a skip."""
    if not target.site.STYLE_PARAM:
        pytest.skip(f"site {target.site_name!r} gives a file's diff and annotate in one form (test_file_page)")
    repo = plan.repo(repo_name)
    sample, path = _pick(plan, repo_name)
    if path is None:
        pytest.skip(f"no sample of {repo_name} modifies or adds a small text file")
    lines = repo.data(sample.rev, path).decode("utf-8").split("\n")
    if lines[-1] == "":
        lines.pop()
    return repo, sample, path, repo.hex(sample.rev), lines, _marked_diff(repo, sample.rev, path)[:MAX_LINES]


@from_plan("repo_name", repo_rows)
def test_file_diff_in_every_style(target, http, plan, repo_name):
    """The sampled file's diff in every HTML style holds the fixture's +/- lines; its comparison the added ones."""
    site = target.site
    repo, sample, path, node, lines, marked = _file_case(target, plan, repo_name)
    added = [ln[1:] for ln in marked if ln.startswith("+")]
    problems = []
    for style, params in _styles(target, "diff")[1:]:
        _, p = page(http, target, site.route("diff", sample.repo, rev=node, path=path, **params))
        missing = pagetext.lines_in_order([ln[1:] for ln in marked], p.flat)
        if missing is not None:
            problems.append(f"{style} diff page lacks line {missing[:30]!r}")
    for style, params in _styles(target, "comparison")[1:]:
        _, p = page(http, target, site.route("comparison", sample.repo, rev=node, path=path, **params))
        missing = pagetext.lines_in_order(added, p.flat)
        if missing is not None:
            problems.append(f"{style} comparison page lacks added line {missing[:30]!r}")
    assert not problems, f"file {path}@{node[:12]} ({sample.id}): " + "; ".join(problems)


@from_plan("repo_name", repo_rows)
def test_file_data_in_every_form(target, http, plan, repo_name):
    """The sampled file's diff as raw and JSON, its comparison and content as JSON, its annotate as JSON and raw."""
    repo, sample, path, node, lines, marked = _file_case(target, plan, repo_name)
    problems = _diff_data(target, http, sample, path, node, marked)
    problems += _json_comparison(target, http, repo, sample, path, node)
    problems += _file_data(target, http, repo, sample, path, node, lines)
    assert not problems, f"file {path}@{node[:12]} ({sample.id}): " + "; ".join(problems)


def _diff_data(target, http, sample, path, node, marked) -> list[str]:
    site, out = target.site, []
    params = _data_style(target, "raw")
    if params:
        text = fetch(http, target, site.route("diff", sample.repo, rev=node, path=path, **params)).text
        got = [ln for ln in text.split("\n") if ln[:1] in ("+", "-") and ln[:4] not in ("+++ ", "--- ")]
        if got[:MAX_LINES] != marked:
            out.append(f"raw diff has {len(got)} +/- lines, the fixture {len(marked)}")
    params = _data_style(target, "json")
    if params:
        data = json.loads(fetch(http, target, site.route("diff", sample.repo, rev=node, path=path, **params)).text)
        got = [e.get("l", "").rstrip("\n") for b in data.get("diff", []) for e in b.get("lines", [])]
        got = [ln for ln in got if ln[:1] in ("+", "-") and ln[:4] not in ("+++ ", "--- ")]
        if got[:MAX_LINES] != marked:
            out.append(f"json diff has {len(got)} +/- lines, the fixture {len(marked)}")
    return out


def _json_comparison(target, http, repo, sample, path, node) -> list[str]:
    """json comparison: every row's left and right line are the parent's and the file's lines at their numbers
    (split as hgweb splits them: bytes.splitlines)."""
    params = _data_style(target, "json")
    if not params:
        return []
    ctx = repo.ctx(sample.rev)
    name = path.encode("utf-8", "surrogateescape")
    right = ctx[name].data().decode("utf-8", "replace").splitlines()
    left = ctx.p1()[name].data().decode("utf-8", "replace").splitlines() if name in ctx.p1() else []
    data = json.loads(fetch(http, target, target.site.route("comparison", sample.repo, rev=node, path=path,
                                                            **params)).text)
    rows = [e for b in data.get("comparison", []) for e in b.get("lines", [])]

    def wrong(e, num, text, side):
        n = e.get(num)
        return isinstance(n, int) and not (0 < n <= len(side) and e.get(text) == side[n - 1])
    bad = [e for e in rows if wrong(e, "rn", "rl", right) or wrong(e, "ln", "ll", left)]
    if not rows or bad:
        return [f"json comparison has {len(rows)} rows, {len(bad)} not the fixture's lines at their numbers"]
    return []


def _file_data(target, http, repo, sample, path, node, lines) -> list[str]:
    site, out = target.site, []
    text = repo.data(sample.rev, path).decode("utf-8")
    params = _data_style(target, "json")
    if params:
        data = json.loads(fetch(http, target, site.route("file", sample.repo, rev=node, path=path, **params)).text)
        got = [e.get("line", "") for e in data.get("lines", [])]
        if "".join(got) != text:
            out.append(f"json file has {len(got)} lines, the fixture {len(text.splitlines())}")
        data = json.loads(fetch(http, target, site.route("annotate", sample.repo, rev=node, path=path,
                                                         **params)).text)
        rows = data.get("annotate", [])
        want_nodes = [repo.hex(r) for r in repo.annotate_revs(sample.rev, path)]
        if "".join(e.get("line", "") for e in rows) != text:
            out.append(f"json annotate has {len(rows)} lines, the fixture {len(want_nodes)}")
        else:
            at = next((i for i, (e, w) in enumerate(zip(rows, want_nodes, strict=False)) if e.get("node") != w),
                      None if len(rows) == len(want_nodes) else min(len(rows), len(want_nodes)))
            if at is not None:
                got_node = str(rows[at].get("node"))[:12] if at < len(rows) else "none"
                out.append(f"json annotate gives line {at + 1} changeset {got_node}, the fixture "
                           f"{want_nodes[at][:12] if at < len(want_nodes) else 'none'}")
    params = _data_style(target, "raw")
    if params:
        raw = fetch(http, target, site.route("annotate", sample.repo, rev=node, path=path, **params)).text
        rows = [_RAW_ANNOTATED.sub("", ln, count=1) for ln in raw.split("\n")[1:1 + len(lines)]]
        if [g.rstrip() for g in rows] != [w.rstrip() for w in lines]:
            out.append(f"raw annotate's lines differ from the file's ({len(lines)} lines)")
    return out


_RAW_ANNOTATED = re.compile(r"^.*?@\d+: ")  # raw annotate: '{author|user}@{rev}: {line}'


# --- the top directory and the history ---------------------------------------------------------------------

@from_plan("repo_name", repo_rows)
def test_listing_in_every_form(target, http, plan, repo_name):
    """The top directory at the tip in every HTML style (the entries it links), as JSON and raw."""
    site = target.site
    if not site.STYLE_PARAM:
        pytest.skip(f"site {target.site_name!r} has one form of its listing and history (test_file_page)")
    repo, problems = plan.repo(repo_name), []
    tip = repo.revs_desc[0]
    node = repo.hex(tip)
    files, dirs = set(), set()
    for f in repo.manifest(tip):
        (dirs.add(f.split("/", 1)[0]) if "/" in f else files.add(f))
    for style, params in _styles(target, "manifest")[1:]:
        _, p = page(http, target, site.route("manifest", repo_name, rev=node, path="", **params))
        linked = {f for f in reps.linked_files(p.hrefs(), target.url_for(repo_name + "/"), node)
                  if "/" not in f} - (dirs - files)  # a name both file and directory: one link for both
        if linked != files:
            problems.append(f"{style} listing links files missing {sorted(files - linked)[:2]}, "
                            f"extra {sorted(linked - files)[:2]}")
    params = _data_style(target, "json")
    if params:
        data = json.loads(fetch(http, target, site.route("manifest", repo_name, rev=node, path="", **params)).text)
        got_f = {e.get("basename") for e in data.get("files", [])}
        got_d = {e.get("basename") for e in data.get("directories", [])}
        if got_f != files or got_d != dirs:
            problems.append(f"json manifest lists {len(got_f)} files, {len(got_d)} directories: "
                            f"{sorted((got_f ^ files) | (got_d ^ dirs))[:2]} differ")
    params = _data_style(target, "raw")
    if params:
        text = fetch(http, target, site.route("manifest", repo_name, rev=node, path="", **params)).content
        rows = [ln for ln in text.decode("utf-8", "replace").split("\n") if ln[:1] in ("d", "-", "l")]
        got_d = {ln.split(" ", 1)[1] for ln in rows if ln.startswith("d") and " " in ln}
        got_f = {ln.split(" ", 2)[2] for ln in rows if not ln.startswith("d") and ln.count(" ") >= 2}
        if got_f != files or got_d != dirs:
            problems.append(f"raw manifest lists {len(rows)} entries, the fixture {len(files) + len(dirs)}: "
                            f"{sorted((got_f ^ files) | (got_d ^ dirs))[:2]} differ")
    assert not problems, f"{repo_name}: " + "; ".join(problems)


@from_plan("repo_name", repo_rows)
def test_history_data_in_every_form(target, http, plan, repo_name):
    """The newest changesets, in order, in the raw log, the raw graph and the json graph."""
    site, out = target.site, []
    if not site.STYLE_PARAM:
        pytest.skip(f"site {target.site_name!r} has one form of its history (test_repository_page)")
    repo = plan.repo(repo_name)
    want = [repo.hex(r) for r in repo.revs_desc[:HISTORY]]
    params = _data_style(target, "raw")
    if params:
        for route in ("log", "graph"):
            text = fetch(http, target, site.route(route, repo_name, **{site.PAGE_PARAM: HISTORY}, **params)).text
            got = [ln.split()[1] for ln in text.split("\n") if ln.startswith("changeset:") and len(ln.split()) > 1]
            if [g[:12] for g in got[:HISTORY]] != [w[:12] for w in want]:
                out.append(f"raw {route} lists {[g[:12] for g in got[:3]]}, the newest are {[w[:12] for w in want[:3]]}")
    params = _data_style(target, "json")
    if params:
        data = json.loads(fetch(http, target, site.route("graph", repo_name, **{site.PAGE_PARAM: HISTORY},
                                                         **params)).text)
        got = [e.get("node") for e in data.get("changesets", [])][:HISTORY]
        if got != want:
            out.append(f"json graph lists {[str(g)[:12] for g in got[:3]]}, the newest are {[w[:12] for w in want[:3]]}")
    assert not out, f"{repo_name}: " + "; ".join(out)


# --- the front pages ---------------------------------------------------------------------------------------

SUMMARY_STYLES = ("gitweb", "monoblue")  # the styles with a summary view (paper, coal, spartan: shortlog)
SUMMARY_ENTRIES = 5  # the newest changesets a summary page is asked to link (it shows 10)


@from_plan("repo_name", repo_rows)
def test_summary_in_every_form(target, http, plan, repo_name):
    site = target.site
    if not site.STYLE_PARAM:
        pytest.skip(f"site {target.site_name!r} has one form of its summary and index (test_repo_pages)")
    repo, problems = plan.repo(repo_name), []
    want = [repo.hex(r) for r in repo.revs_desc[:SUMMARY_ENTRIES]]
    tags = repo.tags()
    for style in SUMMARY_STYLES:
        _, p = page(http, target, site.route("summary", repo_name, **{site.STYLE_PARAM: style}))
        got = [n for n in pagetext.changeset_links(p, target, repo_name) if n in {w[:12] for w in want}]
        if got != [w[:12] for w in want]:
            problems.append(f"{style} summary links {got[:3]}, the newest are {[w[:12] for w in want[:3]]}")
        newest_tags = sorted(tags, key=lambda t: -repo.ctx(tags[t]).rev())[:SUMMARY_ENTRIES]
        absent = [t for t in newest_tags if t not in p.text]
        if absent:
            problems.append(f"{style} summary does not show tags {absent[:3]}")
    params = _data_style(target, "json")
    if params:
        # the summary command itself ({repo}/ is json's shortlog)
        data = json.loads(fetch(http, target, site.route("summary", repo_name).rstrip("/") + "/summary?"
                                + urllib.parse.urlencode(params)).text)
        got = [e.get("node") for e in data.get("shortlog", [])][:SUMMARY_ENTRIES]
        if got != want:
            problems.append(f"json summary lists {[str(g)[:12] for g in got[:3]]}, the newest are "
                            f"{[w[:12] for w in want[:3]]}")
        got_tags = {e.get("tag"): e.get("node") for e in data.get("tags", [])}
        wrong = [t for t in got_tags if t in tags and got_tags[t] != tags[t]]
        if wrong or data.get("node") != repo.hex(repo.revs_desc[0]):
            problems.append(f"json summary gives tags {wrong[:3]} other nodes, or a node {str(data.get('node'))[:12]}"
                            " not the tip")
    assert not problems, f"{repo_name}: " + "; ".join(problems)


@from_plan("repo_name", repo_rows)
def test_index_in_every_form(target, http, plan, repo_name):
    """The index in every HTML style links the repository; the raw index lists it."""
    site, problems = target.site, []
    if not site.STYLE_PARAM:
        pytest.skip(f"site {target.site_name!r} has one form of its index (test_index_links_every_repository)")
    for style, params in _styles(target, "index")[1:] + [("raw", _data_style(target, "raw") or {})]:
        if not params:
            continue
        if style == "raw":
            r = fetch(http, target, site.route("index", **params))
            listed = {ln.strip().strip("/").rsplit("/", 1)[-1] for ln in r.text.split("\n") if ln.strip()}
            if repo_name.rsplit("/", 1)[-1] not in listed:
                problems.append(f"raw index does not list {repo_name}")
            continue
        _, p = page(http, target, site.route("index", **params))
        linked = {u.split("?", 1)[0].rstrip("/") for u in p.hrefs()}
        if target.url_for(site.route("summary", repo_name)).rstrip("/") not in linked:
            problems.append(f"{style} index does not link {repo_name}")
    assert not problems, f"{repo_name}: " + "; ".join(problems)
