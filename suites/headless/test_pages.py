"""Table-driven page checks per sampled revision and file: each row is (page kind, check), each check compares
the page with the fixture repository at that revision.

Ids read as `test_revision_page[rev-demo@merge]` and `test_file_page[raw_file-demo@rename]`; a failure names the
file and what differs.
"""

from __future__ import annotations

import urllib.parse

import pytest
from hgharness.suites.headless import pagetext
from hgharness.suites.headless.http_checks import fetch, page
from hgharness.suites.headless.repodata import email, is_binary, person, text
from hgharness.suites.headless.sitefacts import KnownIssue, diff_issue, fact, known_defect
from hgharness.suites.headless.suite_plugin import parametrize

pytestmark = [pytest.mark.headless, pytest.mark.nondestructive]

MAX_LINES = 300   # lines of a file compared on its pages (the raw file is compared whole)
MAX_LISTED = 20   # files of a changeset, entries of a directory, compared on a page


# --- revision pages ---------------------------------------------------------------------------------------

def check_rev(c):
    info = c.info
    _, p = page(c.http, c.target, c.route("rev", rev=info["node"]), expected_content=info["desc"])
    assert info["short"] in p.flat, f"changeset page of {info['short']} does not show its node"
    # how the site shows an author's name (Kallithea drops '<' and '>' from it): the adapter says
    name = getattr(c.target.site, "author_name", person)(info["user"])
    assert p.contains(name), f"changeset page does not show the author {name!r}"
    if email(info["user"]):
        assert p.contains(email(info["user"])), \
            f"changeset page does not show the author's email {email(info['user'])!r}"
    dates = c.target.site.dates_shown(*info["date"])
    if dates:
        assert any(d in p.text for d in dates), (f"changeset page of {info['short']} does not show its date "
                                                 f"{dates[0]!r}" + (" (in any time zone)" if len(dates) > 1 else ""))
    if fact(c.target, "desc_by_line", False):  # the site renders each line of a description on its own
        missing = pagetext.lines_in_order(info["desc"].splitlines(), p.flat)
        assert missing is None, f"changeset page of {info['short']} lacks description line {missing!r}"
    else:
        assert p.contains(info["desc"]), f"changeset page does not show the description {info['desc'][:80]!r}"
    shown = c.repo.diff_files(c.sample.rev)[:MAX_LISTED]
    shown += [f for f in info["files"][:MAX_LISTED] if f not in shown]
    cut = fact(c.target, "rev_cut_off_text")  # the site's notice that a big changeset's page was cut off
    if cut and cut in p.text:  # only the files before the cut are listed: at least one of the changeset's
        assert any(f in p.text for f in info["files"]), \
            f"changeset page of {info['short']} (cut off) lists none of its files {info['files'][:5]}"
    else:
        missing = [f for f in shown if f not in p.text]
        assert not missing, f"changeset page of {info['short']} does not list files {missing[:5]}"
    for name in info["tags"] + info["bookmarks"]:
        assert name in p.text, f"changeset page of {info['short']} does not show tag/bookmark {name!r}"
    if fact(c.target, "rev_links_parents", True):
        links = pagetext.changeset_links(p, c.target, c.name)
        parents = [n[:12] for n in info["parents"] if n[:12] not in links]
        assert not parents, f"changeset page of {info['short']} does not link its parent(s) {parents}"
    else:
        got = c.target.site.changeset_parents(c.http, c.target, c.name, info["node"])
        if got is not None:
            assert sorted(got) == sorted(info["parents"]), (
                f"changeset {info['short']}: the site gives parents {[n[:12] for n in got]}, "
                f"not {[n[:12] for n in info['parents']]}")
    if fact(c.target, "rev_links_files_at_rev", True) and not (cut and cut in p.text):
        manifest = c.repo.manifest(c.sample.rev)
        hrefs = {urllib.parse.unquote(u.split("#", 1)[0].split("?", 1)[0]) for u in p.hrefs()}
        unlinked = [f for f in info["files"][:MAX_LISTED] if f in manifest and not _links_file_at(hrefs, c, f)]
        assert not unlinked, (f"changeset page of {info['short']} does not link {unlinked[:3]} as of this "
                              "changeset (a link to another revision shows other content)")


def _links_file_at(hrefs: set[str], c, path: str) -> bool:
    """`hrefs` (a page's links, unquoted, without query or fragment) hold the file page of `path` at the
    sample's changeset (its short or full node)."""
    for node in (c.info["node"], c.info["short"]):
        url = urllib.parse.unquote(c.target.url_for(c.route("file", rev=node, path=path)))
        if url in hrefs:
            return True
    return False


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


def check_log_from(c):
    """The log starting at this revision lists it and the revisions below it, newest first."""
    k = 5
    revs = [r for r in c.repo.revs_desc if r <= c.sample.rev][:k]
    expected = [c.repo.hex(r)[:12] for r in revs]
    _, p = page(c.http, c.target, c.route("log_from", rev=c.info["node"], **{c.page_param: k}))
    got = pagetext.changeset_links(p, c.target, c.name)
    assert pagetext.contiguous(expected, got), f"log from {c.info['short']}: expected {expected}, page lists {got}"


def check_manifest_root(c):
    mf = c.repo.manifest(c.sample.rev)
    _, p = page(c.http, c.target, c.route("manifest", rev=c.info["node"], path=""))
    top = sorted({f.split("/", 1)[0] for f in mf})[:MAX_LISTED]
    missing = [n for n in top if n not in p.text]
    assert not missing, f"file list at {c.info['short']} does not show {missing[:5]}"


def check_search(c):
    """A keyword search for a word of the description lists exactly the changesets that match it, newest first."""
    word, matches = c.repo_search_word(c.sample.rev)
    if word is None:
        pytest.skip(f"no searchable word in the description of {c.info['short']}")
    _, p = page(c.http, c.target, c.route("search", rev=word, **{c.page_param: 10}))
    got = pagetext.changeset_links(p, c.target, c.name)
    expected = [c.repo.hex(r)[:12] for r in matches][:10]
    assert pagetext.contiguous(expected, got), f"search for {word!r}: expected {expected}, page lists {got}"
    if len(expected) < 10:  # every match is listed: nothing else may be
        extra = [n for n in got if n not in expected]
        assert not extra, f"search for {word!r} lists changesets that do not match: {extra[:5]}"


REV_ROWS = {
    "rev": ("browse", check_rev),
    "raw_rev": ("browse", check_raw_rev),
    "log_from": ("browse", check_log_from),
    "manifest": ("browse", check_manifest_root),
    "search": ("search", check_search),
}


# --- file pages -------------------------------------------------------------------------------------------

def _lines(data: bytes) -> list[str] | None:
    """Lines to look for on a rendered page; None for binary or undecodable content (checked by presence)."""
    if is_binary(data):
        return None
    s = data.decode("utf-8", "replace")
    if "\ufffd" in s:
        return None
    return s.split("\n")[:MAX_LINES]


def check_file(c, path):
    data = c.repo.data(c.sample.rev, path)
    _, p = page(c.http, c.target, c.route("file", rev=c.info["node"], path=path),
                expected_content=data.decode("utf-8", "replace"))
    lines = _lines(data)
    if c.repo.flags(c.sample.rev, path) == "l":
        lines = [data.decode("utf-8", "replace")]
    if lines is not None:
        missing = pagetext.lines_in_order(lines, p.flat)
        assert missing is None, f"file page {path}@{c.info['short']}: line {missing[:80]!r} missing or out of order"
    src = c.repo.copysource(c.sample.rev, path)
    if src and path in c.info["files"] and fact(c.target, "file_shows_copy_source", True):
        assert src in p.text, f"file page {path}@{c.info['short']} does not show it was copied from {src!r}"


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


def check_annotate(c, path):
    data = c.repo.data(c.sample.rev, path)
    resp, p = page(c.http, c.target, c.route("annotate", rev=c.info["node"], path=path),
                expected_content=data.decode("utf-8", "replace"))
    lines = _lines(data)
    if lines is None or c.repo.flags(c.sample.rev, path) == "l":
        return
    missing = pagetext.lines_in_order(lines, p.flat)
    assert missing is None, f"annotate {path}@{c.info['short']}: line {missing[:80]!r} missing or out of order"
    follow = fact(c.target, "annotate_follows_copies", True)
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


def check_diff(c, path):
    changed = path in c.repo.diff_files(c.sample.rev)
    lines = c.repo.diff_lines(c.sample.rev, path)[:MAX_LINES] if changed else []
    _, p = page(c.http, c.target, c.route("diff", rev=c.info["node"], path=path), expected_content="\n".join(lines))
    missing = pagetext.lines_in_order(lines, p.flat)
    assert missing is None, f"diff of {path}@{c.info['short']}: line {missing[:80]!r} missing or out of order"


def check_comparison(c, path):
    changed = path in c.repo.diff_files(c.sample.rev)
    lines = c.repo.diff_lines(c.sample.rev, path)[:MAX_LINES] if changed else []
    _, p = page(c.http, c.target, c.route("comparison", rev=c.info["node"], path=path),
                expected_content="\n".join(lines))
    missing = [ln for ln in lines if pagetext.norm(ln) not in p.flat]
    assert not missing, f"comparison of {path}@{c.info['short']} lacks changed line {missing[0][:80]!r}"


def check_filelog(c, path):
    k = 10
    if fact(c.target, "filelog_scope", "ancestors") == "file":  # every revision of the path, whatever REV
        history = c.repo.file_history_all(path)
    else:
        history = c.repo.file_history(c.sample.rev, path)
    expected = [c.repo.hex(r)[:12] for r in history[:k]]
    _, p = page(c.http, c.target, c.route("filelog", rev=c.info["node"], path=path, **{c.page_param: k}))
    got = pagetext.changeset_links(p, c.target, c.name)
    assert pagetext.contiguous(expected, got), f"history of {path}@{c.info['short']}: expected {expected}, page lists {got}"


def check_manifest_dir(c, path):
    if "/" not in path:
        return
    d = path.rsplit("/", 1)[0]
    mf = c.repo.manifest(c.sample.rev)
    entries = sorted({f[len(d) + 1:].split("/", 1)[0] for f in mf if f.startswith(d + "/")})[:MAX_LISTED]
    _, p = page(c.http, c.target, c.route("manifest", rev=c.info["node"], path=d))
    missing = [n for n in entries if n not in p.text]
    assert not missing, f"directory {d}@{c.info['short']} does not list {missing[:5]}"


FILE_ROWS = {
    "file": ("browse", check_file),
    "raw_file": ("browse", check_raw_file),
    "annotate": ("annotate", check_annotate),
    "diff": ("browse", check_diff),
    "comparison": ("browse", check_comparison),
    "filelog": ("browse", check_filelog),
    "manifest": ("browse", check_manifest_dir),
}


# --- the parametrized asserters -----------------------------------------------------------------------------

class Case:
    """What a row's check gets: the target, a session, the sample and its fixture repository."""

    def __init__(self, target, http, plan, sample):
        self.target, self.http, self.plan, self.sample = target, http, plan, sample
        self.name = sample.repo
        self.repo = plan.repo(sample.repo)
        self.info = self.repo.info(sample.rev)
        self.page_param = fact(target, "page_param", "revcount")

    def route(self, kind, **kw):
        return self.target.site.route(kind, self.name, **kw)

    def repo_search_word(self, rev):
        return search_word(self.repo, rev)


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


def _rows(table, plan):
    rows, ids = [], []
    for kind, (cap, _check) in table.items():
        for s in plan.all_samples():
            rows.append(pytest.param(kind, s, marks=pytest.mark.needs(cap)))
            ids.append(f"{kind}-{s.id}")
    return rows, ids


def pytest_generate_tests(metafunc):
    from hgharness.suites.headless.plan import get_plan

    plan = get_plan(metafunc.config)
    if "rev_kind" in metafunc.fixturenames:
        rows, ids = _rows(REV_ROWS, plan) if plan.error is None else ([], [])
        parametrize(metafunc, "rev_kind,sample", rows, ids)
    elif "file_kind" in metafunc.fixturenames:
        rows, ids = _rows(FILE_ROWS, plan) if plan.error is None else ([], [])
        parametrize(metafunc, "file_kind,sample", rows, ids)


def _kind_or_skip(target, kind):
    if kind not in target.site.ROUTES:
        pytest.skip(f"site {target.site_name!r} has no page kind {kind!r}")


def test_revision_page(target, http, plan, rev_kind, sample):
    _kind_or_skip(target, rev_kind)
    REV_ROWS[rev_kind][1](Case(target, http, plan, sample))


def test_file_page(target, http, plan, file_kind, sample):
    _kind_or_skip(target, file_kind)
    c = Case(target, http, plan, sample)
    files = plan.files(sample)
    if not files:
        pytest.skip(f"{sample.id} has no files")
    failures, known = [], []
    for path in files:
        try:
            FILE_ROWS[file_kind][1](c, path)
        except AssertionError as e:
            failures.append(str(e).splitlines()[0])
        except KnownIssue as e:
            known.append(str(e))
    assert not failures, "; ".join(failures)
    if known:
        known_defect(c.target, f"{len(known)} of {len(files)} files not checked: {known[0]}")
