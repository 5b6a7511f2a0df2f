"""Kallithea's other views of a changeset, a file and a repository, each held to the fixture: what its pages load
by script (a changeset's children and info, the changelog's file counts, the tree's node list, a file's history
and authors, the repository switcher), the diff downloads under their two other names, the comparison of two
revisions, a file's diff one-way and two-way, the tree's root without a path, and the summary under /summary.

One row per view kind (routes.KALLITHEA_VIEWS) and checked repository; a site without the kind skips it by name.
"""

from __future__ import annotations

import html
import re
import urllib.parse

import pytest

from hgharness.suites.headless import representations as reps
from hgharness.suites.headless.routes import KALLITHEA_VIEWS
from hgharness.suites.support import pagetext
from hgharness.suites.support.http_checks import fetch, page
from hgharness.suites.support.repodata import is_binary
from hgharness.suites.support.table import RepoCase, Table, from_plan

pytestmark = [pytest.mark.headless, pytest.mark.nondestructive]

VIEWS = Table(KALLITHEA_VIEWS)
SAMPLES = 2        # sampled revisions each view is asked about
COMPARE_BACK = 3   # a comparison spans the sample and up to this many first-parent ancestors
MAX_TEXT = 64 * 1024  # a file whose diff is compared line by line is at most this big
SUMMARY_ENTRIES = 10  # the summary's latest changes


def _samples(c) -> list:
    """The first SAMPLES samples of the repository that have a parent (the root's views are its whole tree)."""
    return [s for s in c.plan.samples(c.name) if c.repo.ctx(s.rev).p1().rev() != -1][:SAMPLES]


def _json(c, kind: str, **kw):
    r = fetch(c.http, c.target, c.route(kind, **kw), headers=c.target.site.XHR_HEADERS)
    try:
        return r.json()
    except ValueError:
        raise AssertionError(f"{kind}: not JSON ({r.text[:120]!r})") from None


def _text(c, kind: str, **kw) -> str:
    return fetch(c.http, c.target, c.route(kind, **kw), headers=c.target.site.XHR_HEADERS).text


@VIEWS.check("changeset_children")
def children(c, kind):
    """Exactly the changeset's children; one the clone lacks only if it was pushed since and names it as parent."""
    for s in _samples(c):
        node = c.repo.hex(s.rev)
        got = [x.get("raw_id") for x in _json(c, kind, rev=node).get("results", [])]
        want = [ch.hex().decode() for ch in c.repo.ctx(s.rev).children()]
        missing = [n[:12] for n in want if n not in got]
        extra = [n for n in got if n not in want]
        unproven = [n[:12] for n in extra if c.repo.has_rev(n or "-") or node not in
                    (c.target.site.changeset_parents(c.http, c.target, c.name, n) or [])]
        assert not missing and not unproven, (f"{kind} of {node[:12]} ({s.id}) gives {[n[:12] for n in got]}: "
                                              f"missing {missing}, not its children {unproven}")


@VIEWS.check("changeset_info")
def info(c, kind):
    """The changeset's id, author, message and date (in any time zone: the server's is not known)."""
    for s in _samples(c):
        fact = c.repo.info(s.rev)
        d = _json(c, kind, rev=fact["node"])
        dates = [t.replace(" ", "T") for t in c.target.site.dates_shown(*fact["date"])]
        wrong = [k for k, ok in (("raw_id", d.get("raw_id") == fact["node"]),
                                 ("short_id", d.get("short_id") == fact["short"]),
                                 ("author", d.get("author") == fact["user"]),
                                 ("message", d.get("message") == fact["desc"]),
                                 ("date", not dates or d.get("date") in dates)) if not ok]
        assert not wrong, f"{kind} of {fact['short']} ({s.id}): wrong {wrong}: " + ", ".join(
            f"{k}={d.get(k)!r}" for k in wrong)


@VIEWS.check("changelog_details")
def changelog_details(c, kind):
    """The changelog's three labels: how many files the changeset removes, changes and adds, and (up to 30 in a
    tooltip) which; past 60 files touched, "!" and "Affected N files"."""
    for s in _samples(c):
        node, want = c.repo.hex(s.rev), c.repo.diff_status(s.rev)
        labels = reps.changelog_labels(_text(c, kind, rev=node))
        assert set(labels) == set(want), f"{kind} of {node[:12]} ({s.id}): labels {sorted(labels)}"
        touched = len(c.repo.info(s.rev)["files"])
        for k, (title, n) in labels.items():
            if n == "!":
                assert f"Affected {touched} files" in title, f"{kind} of {node[:12]}: {title!r}, {touched} touched"
                continue
            names = reps.label_paths(title, want[k])
            assert int(n) == len(want[k]) and names == want[k][:30], (
                f"{kind} of {node[:12]} ({s.id}): {k} {n} {names[:5]}, the changeset {len(want[k])} {want[k][:5]}")


@VIEWS.check("nodelist")
def nodelist(c, kind):
    """Every file and every directory of the tree at the revision, and nothing else."""
    for s in _samples(c)[:1]:
        node = c.repo.hex(s.rev)
        nodes = _json(c, kind, rev=node, path="").get("nodes", [])
        files = {n["name"] for n in nodes if n.get("type") == "file"}
        dirs = {n["name"] for n in nodes if n.get("type") == "dir"}
        mf = set(c.repo.manifest(s.rev))
        want_dirs = {"/".join(f.split("/")[:i]) for f in mf for i in range(1, f.count("/") + 1)}
        assert files == mf and dirs == want_dirs, (
            f"{kind} of {node[:12]} ({s.id}): files missing {sorted(mf - files)[:3]}, extra "
            f"{sorted(files - mf)[:3]}; directories missing {sorted(want_dirs - dirs)[:3]}, extra "
            f"{sorted(dirs - want_dirs)[:3]}")


def _history_case(c):
    """A sample and a file of it that is not a symlink: (sample, path, node, the changesets of its filelog). A
    file with two revisions or more where a sample has one: a history of one changeset cannot show one dropped
    or out of order, nor an author list a wrong one among others."""
    first = None
    for s in _samples(c):
        for path in c.plan.files(s):
            if c.repo.flags(s.rev, path) != "l":
                revs = c.repo.file_history_all(path)
                if len(revs) > 1:
                    return s, path, c.repo.hex(s.rev), revs
                first = first or (s, path, c.repo.hex(s.rev), revs)
    if first is None:
        pytest.skip(f"no sample of {c.name} has a regular file")
    return first


@VIEWS.check("file_history")
def file_history(c, kind):
    """The file page's history selector: the changeset of every revision of the file, newest first."""
    s, path, node, revs = _history_case(c)
    groups = {g.get("text"): g.get("children", []) for g in _json(c, kind, rev=node, path=path).get("results", [])}
    got = [x.get("id") for x in groups.get("Changesets", [])]
    want = [c.repo.hex(r) for r in revs]
    assert got == want, (f"{kind} of {path}@{node[:12]} ({s.id}) lists {len(got)} changesets "
                         f"{[n[:12] for n in got[:4] if n]}, the fixture's filelog {len(want)} "
                         f"{[n[:12] for n in want[:4]]}")


@VIEWS.check("file_authors")
def file_authors(c, kind):
    """The file page's authors box: everyone who committed a revision of the file, once each."""
    s, path, node, revs = _history_case(c)
    text = _text(c, kind, rev=node, path=path)
    users = {c.repo.info(r)["user"] for r in revs}
    want = sorted({c.target.site.author_name(u) for u in users})
    got = sorted(html.unescape(t) for t in re.findall(r'<span data-toggle="tooltip" title="([^"]*)">', text))
    count = re.search(r"<b>(\d+)</b> authors?", text)
    assert got == want and count and int(count.group(1)) == len(users), (
        f"{kind} of {path}@{node[:12]} ({s.id}) names {got[:5]} ({count.group(1) if count else 'no'} authors), "
        f"the file's history {want[:5]} ({len(users)})")


@VIEWS.check("repo_switcher")
def repo_switcher(c, kind):
    """The repository switcher lists the repository."""
    data = _json(c, kind)
    listed = {ch.get("id") for g in data.get("results", []) for ch in g.get("children", [])
              if ch.get("type") == "repo"}
    assert c.name in listed, f"{kind} does not list {c.name} ({len(listed)} repositories: {sorted(listed)[:5]})"


@VIEWS.check("download_rev", "raw_changeset")
def patch_download(c, kind):
    """The changeset's diff, file by file the +/- lines of the fixture's own."""
    for s in _samples(c):
        node = c.repo.hex(s.rev)
        r = fetch(c.http, c.target, c.route(kind, rev=node))
        if kind == "download_rev":
            assert "attachment" in r.headers.get("Content-Disposition", ""), \
                f"{kind} of {node[:12]}: Content-Disposition {r.headers.get('Content-Disposition')!r}"
        problems = reps.compare_patch(kind, reps.patch_files(r.content.decode("utf-8", "replace")), c.repo, s.rev,
                                      git=c.target.site.PATCH_GIT)
        assert not problems, f"{node[:12]} ({s.id}): " + "; ".join(problems)


def _first_parents(c, rev: int, n: int) -> int:
    ctx = c.repo.ctx(rev)
    for _ in range(n):
        if ctx.p1().rev() == -1:
            break
        ctx = ctx.p1()
    return ctx.rev()


_CS_ROW = re.compile(r'<tr id="chg_\d+"[^>]*>.*?class="changeset_hash" href="[^"]*/changeset/([0-9a-f]{40})"', re.S)
_CS_FILE = re.compile(r'<div class="cs_(\w+) clearfix">\s*<span class="node">\s*<i[^>]*></i>\s*<a [^>]*>([^<]*)</a>')


@VIEWS.check("compare_revs")
def compare_revs(c, kind):
    """A comparison of a sample with an ancestor a few first parents back: the changesets the sample has that the
    ancestor has not, newest first, and the files that differ between them (removed, modified, added)."""
    for s in _samples(c)[:1]:
        base = _first_parents(c, s.rev, COMPARE_BACK)
        a, b = c.repo.hex(base), c.repo.hex(s.rev)
        r = fetch(c.http, c.target, c.route(kind, rev=a, rev2=b))
        where = f"{kind} {a[:12]}...{b[:12]} ({s.id})"
        want = [c.repo.hex(r) for r in sorted(c.repo.repo.revs(b"only(%d, %d)", s.rev, base), reverse=True)]
        got = _CS_ROW.findall(r.text)
        assert got == want, f"{where} lists {[n[:12] for n in got]}, expected {[n[:12] for n in want]}"
        _compare_files(c, r.text, base, s.rev, where)


def _git_ops(c, base: int, rev: int) -> dict[str, set[str]]:
    """What the fixture's own git diff of base..rev does to each path, in the classes Kallithea's diff parser
    gives them (kallithea/lib/diffs.py): removed, added, renamed (the new name; the old one is not listed), a copy
    listed as modified, anything else modified."""
    out: dict[str, set[str]] = {}
    text = reps.fixture_diff(c.repo, rev, git=True, base=base)
    for block in re.split(r"^(?=diff --git a/)", text, flags=re.M):
        if not block.startswith("diff --git a/"):
            continue
        head = block.split("\n@@", 1)[0].split("\nGIT binary patch", 1)[0]
        path = head.split("\n", 1)[0].rsplit(" b/", 1)[1]  # a removed file's a/ and b/ name the same path
        if "\ndeleted file mode" in head:
            out[path] = {"removed"}
        elif "\nnew file mode" in head:
            out[path] = {"added"}
        elif "\nrename from " in head:
            out[path] = {"renamed"}
        else:
            out[path] = {"modified"}
    return out


def _compare_files(c, text: str, base: int, rev: int, where: str) -> None:
    want = _git_ops(c, base, rev)
    got = {html.unescape(name): cls for cls, name in _CS_FILE.findall(text)}
    wrong = sorted(f for f in got if got[f] not in want.get(f, ()))
    if c.target.site.rev_page_cut_off(text):  # only the files before the cut are listed
        assert not wrong, f"{where} (cut off) lists {wrong[:3]} as {[got[f] for f in wrong[:3]]}, wrongly"
        return
    wrong += sorted(f for f in want if f not in got)
    assert not wrong, (f"{where} lists files {sorted(got.items())[:4]}, the fixture's git diff "
                       f"{sorted((f, sorted(v)[0]) for f, v in want.items())[:4]}: wrong at {wrong[:3]}")


def _modified_text_file(c):
    """A sample and a small text file it modifies (present on both sides of its diff), with the diff's lines."""
    for s in _samples(c):
        for path in c.repo.diff_status(s.rev)["changed"]:
            if c.repo.flags(s.rev, path) == "l":
                continue
            old, new = c.repo.data(c.repo.ctx(s.rev).p1().rev(), path), c.repo.data(s.rev, path)
            if max(len(old), len(new)) <= MAX_TEXT and not is_binary(old) and not is_binary(new):
                try:
                    old.decode("utf-8"), new.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                return s, path, old, new
    pytest.skip(f"no sample of {c.name} modifies a small UTF-8 text file")


_DIFF_ROW = re.compile(r'<tr class="line (?:add|del)">')  # Kallithea's row of an added or removed line


@VIEWS.check("file_diff")
def file_diff(c, kind):
    """The diff of a file between the sample's parent and the sample: the fixture's +/- lines, in order (the
    first and the last MAX_LINES of them: a diff cut short shows), and as many rows of added and removed lines as
    the fixture's diff has (a short line may also stand in the page's other text)."""
    s, path, _, _ = _modified_text_file(c)
    p1, node = c.repo.hex(c.repo.ctx(s.rev).p1().rev()), c.repo.hex(s.rev)
    r, p = page(c.http, c.target, c.route(kind, path=path, diff1=p1, diff2=node))
    lines = c.repo.diff_lines(s.rev, path)
    where = f"{kind} of {path} {p1[:12]}..{node[:12]} ({s.id})"
    missing = pagetext.lines_in_order(lines[:reps.MAX_LINES] + lines[max(reps.MAX_LINES, len(lines) - reps.MAX_LINES):],
                                      p.flat)
    assert missing is None, f"{where} lacks line {missing[:60]!r}"
    rows = len(_DIFF_ROW.findall(r.text))
    assert rows == len(lines), f"{where} shows {rows} added or removed lines, the fixture's diff {len(lines)}"


@VIEWS.check("file_diff_2way")
def file_diff_2way(c, kind):
    """The two-way diff loads the file's two sides by script: from the raw file at each revision, which must
    be the fixture's bytes."""
    s, path, old, new = _modified_text_file(c)
    p1, node = c.repo.hex(c.repo.ctx(s.rev).p1().rev()), c.repo.hex(s.rev)
    text = page(c.http, c.target, c.route(kind, path=path, diff1=p1, diff2=node))[0].text
    where = f"{kind} of {path} {p1[:12]}..{node[:12]} ({s.id})"
    for n, rev, data in ((1, p1, old), (2, node, new)):
        m = re.search(r'var orig%d_url = \("([^"]+)"\)' % n, text)
        assert m, f"{where}: no orig{n}_url to load side {n} from"
        url = urllib.parse.urljoin(c.target.url, html.unescape(m.group(1)))
        want = urllib.parse.urlsplit(c.target.url_for(c.route("raw_file", rev=rev, path=path))).path
        assert urllib.parse.unquote(urllib.parse.urlsplit(url).path) == urllib.parse.unquote(want), \
            f"{where}: side {n} loads {url}, not the file at {rev[:12]} ({want})"
        got = c.http.get(url, timeout=60)
        assert got.status_code == 200 and got.content == data, \
            f"{where}: side {n} ({url}) answers HTTP {got.status_code}, {len(got.content)} bytes, not the file's"


@VIEWS.check("files_root")
def files_root(c, kind):
    """The tree's root without a path: every top-level file and directory, linked at the revision, nothing else."""
    for s in _samples(c)[:1]:
        node = c.repo.hex(s.rev)
        _, p = page(c.http, c.target, c.route(kind, rev=node))
        base = urllib.parse.urlsplit(c.target.url_for(c.route("manifest", rev=node, path=""))).path
        linked = {urllib.parse.unquote(urllib.parse.urlsplit(u).path[len(base):])
                  for u in p.hrefs() if urllib.parse.urlsplit(u).path.startswith(base)}
        linked = {x for x in linked if x and "/" not in x}
        want = {f.split("/", 1)[0] for f in c.repo.manifest(s.rev)}
        assert linked == want, (f"{kind} at {node[:12]} ({s.id}): missing {sorted(want - linked)[:3]}, "
                                f"not at the root {sorted(linked - want)[:3]}")


@VIEWS.check("summary_page")
def summary_page(c, kind):
    """The summary under /summary: its latest changes are the newest changesets, in order."""
    _, p = page(c.http, c.target, c.route(kind))
    want = [c.repo.hex(r)[:12] for r in c.repo.revs_desc[:SUMMARY_ENTRIES]]
    got = pagetext.changeset_links(p, c.target, c.name)
    assert pagetext.contiguous(want, got), f"{kind} of {c.name}: latest changes {got[:12]}, expected {want}"


def _rows(plan) -> list:
    """The rows of the kinds the site has; one named skip for a site with none of them (hgweb)."""
    rows = [r for r in VIEWS.rows(plan.checked) if r.values[0] in plan.target.site.ROUTES]
    return rows or [pytest.param(None, None, id="none", marks=pytest.mark.skip(
        reason=f"site {plan.target.site_name!r} has none of these views (Kallithea's)"))]


@from_plan("view_kind,repo_name", _rows)
def test_kallithea_view(target, http, plan, view_kind, repo_name):
    VIEWS.run(view_kind, RepoCase(target, http, plan, repo_name), view_kind)
