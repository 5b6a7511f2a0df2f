"""Table-driven page checks per sampled revision and file: each row is (page kind, check), each check compares
the page with the fixture repository at that revision.

Ids read as `test_revision_page[rev-demo@merge]` and `test_file_page[raw_file-demo@rename]`; a failure names the
file and what differs.
"""

from __future__ import annotations

import urllib.parse

import pytest

from hgharness.suites.headless.routes import FILE_PAGES, REVISION_PAGES
from hgharness.suites.support import pagetext
from hgharness.suites.support.http_checks import fetch, page
from hgharness.suites.support.known_issues import KnownIssue, diff_issue, known_defect
from hgharness.suites.support.repodata import email, is_binary, text
from hgharness.suites.support.table import SampleCase, Table, from_plan, skip_unless_routed

pytestmark = [pytest.mark.headless, pytest.mark.nondestructive]

MAX_LINES = 300   # lines of a file compared on its pages (the raw file is compared whole)
MAX_LISTED = 20   # files of a changeset, entries of a directory, compared on a page

REV_ROWS = Table(REVISION_PAGES)  # check(case)
FILE_ROWS = Table(FILE_PAGES)     # check(case, path)


# --- revision pages ---------------------------------------------------------------------------------------

@REV_ROWS.check("rev")
def check_rev(c):
    """The changeset page shows the changeset's node, author, date, description, files, tags and bookmarks, and
    gives its parents and links its files as of the changeset."""
    info, site = c.info, c.target.site
    r, p = page(c.http, c.target, c.route("rev", rev=info["node"]), expected_content=info["desc"])
    where = f"changeset page of {info['short']}"
    assert info["short"] in p.flat, f"{where} does not show its node"
    name, mail = site.author_name(info["user"]), email(info["user"])
    assert p.contains(name), f"{where} does not show the author {name!r}"
    assert not mail or p.contains(mail), f"{where} does not show the author's email {mail!r}"
    _shows_date(site.dates_shown(*info["date"]), p, where)
    _shows_description(c, p, where)
    cut_off = site.rev_page_cut_off(p.text)
    _lists_files(c, p, where, cut_off, r.text)
    missing = [n for n in info["tags"] + info["bookmarks"] if n not in p.text]
    assert not missing, f"{where} does not show tag/bookmark {missing[0]!r}"
    _gives_parents(c, p, where)
    if site.REV_LINKS_FILES_AT_REV and not cut_off:
        _links_files_at_rev(c, p, where)


def _shows_date(dates: list[str], p, where: str) -> None:
    """One of the ways the site may show the date (several: the server's time zone is not known)."""
    if dates:
        zones = " (in any time zone)" if len(dates) > 1 else ""
        assert any(d in p.text for d in dates), f"{where} does not show its date {dates[0]!r}{zones}"


def _shows_description(c, p, where: str) -> None:
    desc = c.info["desc"]
    if c.target.site.DESC_BY_LINE:
        missing = pagetext.lines_in_order(desc.splitlines(), p.flat)
        assert missing is None, f"{where} lacks description line {missing!r}"
    else:
        assert p.contains(desc), f"{where} does not show the description {desc[:80]!r}"


def _lists_files(c, p, where: str, cut_off: bool, source: str) -> None:
    files = c.info["files"]
    counts = c.target.site.rev_page_counts(source)
    if counts is not None:
        want = {"affected": len(files)} if "affected" in counts else c.repo.diff_counts(c.sample.rev)
        assert counts == want, f"{where} counts its files {counts}, not {want}"
    if cut_off:  # only the files before the cut are listed: at least one of the changeset's, or none when the
        # first file's diff is itself past the limit, if the page counts them all (checked above)
        assert counts is not None or any(f in p.text for f in files), \
            f"{where} (cut off) lists none of its files {files[:5]} and gives no count of them"
        return
    listed = c.repo.diff_files(c.sample.rev)[:MAX_LISTED]
    listed += [f for f in files[:MAX_LISTED] if f not in listed]
    missing = [f for f in listed if f not in p.text]
    assert not missing, f"{where} does not list files {missing[:5]}"


def _gives_parents(c, p, where: str) -> None:
    """The parents the page links, or those the site gives through another channel (an XHR, for one)."""
    parents = c.info["parents"]
    given = c.target.site.changeset_parents(c.http, c.target, c.name, c.info["node"])
    if given is None:
        links = pagetext.changeset_links(p, c.target, c.name)
        unlinked = [n[:12] for n in parents if n[:12] not in links]
        assert not unlinked, f"{where} does not link its parent(s) {unlinked}"
    else:
        assert sorted(given) == sorted(parents), (f"changeset {c.info['short']}: the site gives parents "
                                                  f"{[n[:12] for n in given]}, not {[n[:12] for n in parents]}")


def _links_files_at_rev(c, p, where: str) -> None:
    manifest = c.repo.manifest(c.sample.rev)
    hrefs = {urllib.parse.unquote(u.split("#", 1)[0].split("?", 1)[0]) for u in p.hrefs()}
    unlinked = [f for f in c.info["files"][:MAX_LISTED] if f in manifest and not _links_file_at(hrefs, c, f)]
    assert not unlinked, (f"{where} does not link {unlinked[:3]} as of this changeset (a link to another "
                          "revision shows other content)")


def _links_file_at(hrefs: set[str], c, path: str) -> bool:
    """`hrefs` (a page's links, unquoted, without query or fragment) hold the file page of `path` at the
    sample's changeset (its short or full node)."""
    for node in (c.info["node"], c.info["short"]):
        url = urllib.parse.unquote(c.target.url_for(c.route("file", rev=node, path=path)))
        if url in hrefs:
            return True
    return False


@REV_ROWS.check("raw_rev")
def check_raw_rev(c):
    info = c.info
    path = c.route("raw_rev", rev=info["node"])
    issue = diff_issue(c.target, "raw_rev", *c.repo.diff_text(c.sample.rev))
    if issue is not None:
        raise KnownIssue(issue, path)
    r = fetch(c.http, c.target, path, expected_content=info["desc"])
    body = r.content.decode("utf-8", "replace")
    assert info["node"] in body, f"raw changeset of {info['short']} does not carry its node"
    assert info["user"] in body, f"raw changeset does not carry the author {info['user']!r}"
    missing = pagetext.lines_in_order(info["desc"].splitlines(), pagetext.norm(body))
    assert missing is None, f"raw changeset of {info['short']} lacks description line {missing!r}"
    files = [f for f in c.repo.diff_files(c.sample.rev)[:MAX_LISTED] if f not in body]
    assert not files, f"raw changeset of {info['short']} has no diff for {files[:5]}"


@REV_ROWS.check("log_from")
def check_log_from(c):
    """The log starting at this revision lists it and the revisions below it, newest first."""
    k = 5
    revs = [r for r in c.repo.revs_desc if r <= c.sample.rev][:k]
    expected = [c.repo.hex(r)[:12] for r in revs]
    _, p = page(c.http, c.target, c.route("log_from", rev=c.info["node"], **{c.target.site.PAGE_PARAM: k}))
    got = pagetext.changeset_links(p, c.target, c.name)
    assert pagetext.contiguous(expected, got), f"log from {c.info['short']}: expected {expected}, page lists {got}"


@REV_ROWS.check("manifest")
def check_manifest_root(c):
    mf = c.repo.manifest(c.sample.rev)
    _, p = page(c.http, c.target, c.route("manifest", rev=c.info["node"], path=""))
    top = sorted({f.split("/", 1)[0] for f in mf})[:MAX_LISTED]
    missing = [n for n in top if n not in p.text]
    assert not missing, f"file list at {c.info['short']} does not show {missing[:5]}"


@REV_ROWS.check("search")
def check_search(c):
    """A keyword search for a word of the description lists exactly the changesets that match it, newest first."""
    word, matches = search_word(c.repo, c.sample.rev)
    if word is None:
        pytest.skip(f"no searchable word in the description of {c.info['short']}")
    _, p = page(c.http, c.target, c.route("search", rev=word, **{c.target.site.PAGE_PARAM: 10}))
    got = pagetext.changeset_links(p, c.target, c.name)
    expected = [c.repo.hex(r)[:12] for r in matches][:10]
    assert pagetext.contiguous(expected, got), f"search for {word!r}: expected {expected}, page lists {got}"
    if len(expected) < 10:  # every match is listed: nothing else may be
        extra = [n for n in got if n not in expected]
        assert not extra, f"search for {word!r} lists changesets that do not match: {extra[:5]}"


# --- file pages -------------------------------------------------------------------------------------------

def _lines(data: bytes) -> list[str] | None:
    """Lines to look for on a rendered page; None for binary or undecodable content (checked by presence)."""
    if is_binary(data):
        return None
    s = data.decode("utf-8", "replace")
    if "\ufffd" in s:
        return None
    return s.split("\n")[:MAX_LINES]


def _file_page(c, kind: str, path: str):
    """The fixture's bytes of a file at the sample, and its page of `kind` (response, parsed), which may show
    them without counting as a server traceback."""
    data = c.repo.data(c.sample.rev, path)
    resp, p = page(c.http, c.target, c.route(kind, rev=c.info["node"], path=path),
                   expected_content=data.decode("utf-8", "replace"))
    return data, resp, p


def _cut_off(c, p, kind: str, path: str) -> bool:
    """A page the site cut off by its size limit, as it says it does: it must then offer the whole file (the raw
    file, or the page in full), which the raw file check holds to the fixture."""
    if not c.target.site.file_page_cut_off(p.text):
        return False
    hrefs = p.hrefs()
    if kind == "file":
        raw = urllib.parse.urlsplit(c.target.url_for(c.route("raw_file", rev=c.info["node"], path=path))).path
        offered = any(urllib.parse.unquote(urllib.parse.urlsplit(h).path) == urllib.parse.unquote(raw)
                      for h in hrefs)
    else:
        offered = any("fulldiff=1" in urllib.parse.urlsplit(h).query for h in hrefs)
    assert offered, f"{kind} page {path}@{c.info['short']} says the file is too big to display but offers no way to it"
    return True


@FILE_ROWS.check("file")
def check_file(c, path):
    data, _, p = _file_page(c, "file", path)
    if _cut_off(c, p, "file", path):
        return
    lines = _lines(data)
    if c.repo.flags(c.sample.rev, path) == "l":
        lines = [data.decode("utf-8", "replace")]
    if lines is not None:
        missing = pagetext.lines_in_order(lines, p.flat)
        assert missing is None, f"file page {path}@{c.info['short']}: line {missing[:80]!r} missing or out of order"
    src = c.repo.copysource(c.sample.rev, path)
    if src and path in c.info["files"] and c.target.site.FILE_SHOWS_COPY_SOURCE:
        assert src in p.text, f"file page {path}@{c.info['short']} does not show it was copied from {src!r}"


@FILE_ROWS.check("raw_file")
def check_raw_file(c, path):
    data = c.repo.data(c.sample.rev, path)
    r = fetch(c.http, c.target, c.route("raw_file", rev=c.info["node"], path=path),
              expected_content=data.decode("utf-8", "replace"))
    assert r.content == data, (f"raw file {path}@{c.info['short']}: {len(r.content)} bytes differ from the "
                               f"fixture's {len(data)} bytes" + _first_difference(r.content, data))


def _first_difference(got: bytes, want: bytes) -> str:
    for i, (a, b) in enumerate(zip(got, want, strict=False)):
        if a != b:
            return f" (first difference at byte {i})"
    return f" (one is a prefix of the other: {len(got)} vs {len(want)} bytes)" if got != want else ""


@FILE_ROWS.check("annotate")
def check_annotate(c, path):
    data, resp, p = _file_page(c, "annotate", path)
    if _cut_off(c, p, "annotate", path):
        return
    lines = _lines(data)
    if lines is None or c.repo.flags(c.sample.rev, path) == "l":
        return
    missing = pagetext.lines_in_order(lines, p.flat)
    assert missing is None, f"annotate {path}@{c.info['short']}: line {missing[:80]!r} missing or out of order"
    follow = c.target.site.ANNOTATE_FOLLOWS_COPIES
    revs = c.repo.annotate_revs(c.sample.rev, path, follow=follow)[:MAX_LINES]
    want = {c.repo.hex(r)[:12] for r in revs}
    got = set(pagetext.changeset_links(p, c.target, c.name)) | {w for w in want if w in p.text}
    absent = sorted(want - got)
    assert not absent, f"annotate {path}@{c.info['short']} does not attribute lines to {absent[:5]}"
    shown = c.target.site.annotate_line_nodes(resp.text)
    if shown is not None:  # line by line: each line credited to the changeset that last changed it
        expected = [c.repo.hex(rev)[:12] for rev in revs]
        wrong = [i for i, (a, b) in enumerate(zip(shown, expected, strict=False)) if a != b]
        assert not wrong, (f"annotate {path}@{c.info['short']} credits line {wrong[0] + 1} to "
                           f"{shown[wrong[0]] or 'nothing'}, not {expected[wrong[0]]} ({len(wrong)} lines wrong)")
        assert len(shown) >= len(expected), (f"annotate {path}@{c.info['short']} shows {len(shown)} lines, the file "
                                             f"has {len(c.repo.annotate_revs(c.sample.rev, path, follow=follow))}")


@FILE_ROWS.check("diff")
def check_diff(c, path):
    changed = path in c.repo.diff_files(c.sample.rev)
    lines = c.repo.diff_lines(c.sample.rev, path)[:MAX_LINES] if changed else []
    _, p = page(c.http, c.target, c.route("diff", rev=c.info["node"], path=path), expected_content="\n".join(lines))
    missing = pagetext.lines_in_order(lines, p.flat)
    assert missing is None, f"diff of {path}@{c.info['short']}: line {missing[:80]!r} missing or out of order"


@FILE_ROWS.check("comparison")
def check_comparison(c, path):
    changed = path in c.repo.diff_files(c.sample.rev)
    lines = c.repo.diff_lines(c.sample.rev, path)[:MAX_LINES] if changed else []
    _, p = page(c.http, c.target, c.route("comparison", rev=c.info["node"], path=path),
                expected_content="\n".join(lines))
    missing = [ln for ln in lines if pagetext.norm(ln) not in p.flat]
    assert not missing, f"comparison of {path}@{c.info['short']} lacks changed line {missing[0][:80]!r}"


@FILE_ROWS.check("filelog")
def check_filelog(c, path):
    k = 10
    if c.target.site.FILELOG_WHOLE_FILE:  # every revision of the path, whatever REV
        history = c.repo.file_history_all(path)
    else:
        history = c.repo.file_history(c.sample.rev, path)
    expected = [c.repo.hex(r)[:12] for r in history[:k]]
    route = c.route("filelog", rev=c.info["node"], path=path, **{c.target.site.PAGE_PARAM: k})
    _, p = page(c.http, c.target, route)
    got = pagetext.changeset_links(p, c.target, c.name)
    assert pagetext.contiguous(expected, got), f"history of {path}@{c.info['short']}: expected {expected}, page lists {got}"


@FILE_ROWS.check("manifest")
def check_manifest_dir(c, path):
    if "/" not in path:
        return
    d = path.rsplit("/", 1)[0]
    mf = c.repo.manifest(c.sample.rev)
    entries = sorted({f[len(d) + 1:].split("/", 1)[0] for f in mf if f.startswith(d + "/")})[:MAX_LISTED]
    _, p = page(c.http, c.target, c.route("manifest", rev=c.info["node"], path=d))
    missing = [n for n in entries if n not in p.text]
    assert not missing, f"directory {d}@{c.info['short']} does not list {missing[:5]}"


def search_word(repo, rev, limit: int = 10):
    """The rarest word of the description for hgweb's keyword search, and the first `limit` changesets it
    matches, newest first. hgweb matches a word case-insensitively in the author, description or file names."""
    desc = repo.info(rev)["desc"]
    names = set(repo.tags()) | set(repo.bookmarks()) | set(repo.branches())
    words = sorted({w for w in desc.split() if len(w) >= 4 and w.isalnum() and w.isascii() and w not in names
                    and not all(ch in "0123456789abcdef" for ch in w.lower())}, key=lambda w: (-len(w), w))[:5]
    if not words:
        return None, []
    matches = {w: [] for w in words}
    for r in repo.revs_desc:
        ctx = repo.ctx(r)
        hay = " ".join([text(ctx.user()), text(ctx.description())] + [text(f) for f in ctx.files()]).lower()
        for w in words:
            if len(matches[w]) < limit and w.lower() in hay:
                matches[w].append(r)
        if all(len(m) >= limit for m in matches.values()):
            break
    best = min(words, key=lambda w: len(matches[w]))
    return best, matches[best]


# --- the parametrized asserters -----------------------------------------------------------------------------

@from_plan("rev_kind,sample", lambda plan: REV_ROWS.rows(plan.all_samples(), lambda s: s.id))
def test_revision_page(target, http, plan, rev_kind, sample):
    REV_ROWS.run(rev_kind, SampleCase(target, http, plan, sample))


@from_plan("file_kind,sample", lambda plan: FILE_ROWS.rows(plan.all_samples(), lambda s: s.id))
def test_file_page(target, http, plan, file_kind, sample):
    skip_unless_routed(target, file_kind)
    c = SampleCase(target, http, plan, sample)
    files = plan.files(sample)
    if not files:
        pytest.skip(f"{sample.id} has no files")
    failures, known = [], []
    for path in files:
        try:
            FILE_ROWS.checks[file_kind](c, path)
        except AssertionError as e:
            failures.append(str(e).splitlines()[0])
        except KnownIssue as e:
            known.append(str(e))
    assert not failures, "; ".join(failures)
    if known:
        known_defect(target, f"{len(known)} of {len(files)} files not checked: {known[0]}")
