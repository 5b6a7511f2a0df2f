"""The pieces the headless and security checks are built from, on inputs whose answer is known."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from hgharness.suites.headless.archives import read_members, strip_prefix
from hgharness.suites.security.escaping import Hostile, problems, split_known
from hgharness.suites.security.origin import protection
from hgharness.suites.support import pagetext

SITE_SCRIPT = '<script src="/static/app.js"></script><script>process_dates()</script>'


def test_page_text_decodes_obfuscated_author_and_finds_lines_in_order():
    p = pagetext.parse("<td>&#65;&#100;&#97; &lt;ada@x&gt;</td><pre><span>one</span>\n<span>two</span></pre>",
                       "http://h/r/")
    assert p.contains("Ada <ada@x>")
    assert pagetext.lines_in_order(["one", "two"], p.flat) is None
    assert pagetext.lines_in_order(["two", "one"], p.flat) == "one"


def test_changeset_links_in_order_and_contiguous_runs():
    from hgharness.target import Target

    t = Target(url="http://h/")
    body = ('<a href="/r/rev/aaaaaaaaaaaa">x</a><a href="/r/rev/11">menu</a><a href="/r/rev/bbbbbbbbbbbb?x=1">y</a>'
            '<a href="/r/rev/aaaaaaaaaaaa">again</a><a href="/r/file/cccccccccccc">file</a>')
    links = pagetext.changeset_links(pagetext.parse(body, "http://h/r/log"), t, "r")
    assert links == ["aaaaaaaaaaaa", "bbbbbbbbbbbb"]
    assert pagetext.contiguous(["bbbbbbbbbbbb"], links)
    assert not pagetext.contiguous(["aaaaaaaaaaaa", "cccccccccccc"], links)


def _hostile(*strings):
    return Hostile(strings=set(strings))


def test_escaped_metadata_passes_and_injections_are_named():
    h = _hostile("<script>alert('x')</script>", 'a" onmouseover="alert(1)', "Ada <ada@example.org>")
    safe = (SITE_SCRIPT + "<div>&lt;script&gt;alert('x')&lt;/script&gt;</div><a title=\"a&quot; onmouseover="
            "&quot;alert(1)\">f</a><td>Ada &lt;ada@example.org&gt;</td>")
    assert problems(safe, pagetext.parse(safe, "http://h/"), h.strings, h.verbatim) == []
    bad = SITE_SCRIPT + "<div><script>alert('x')</script></div><a title=\"a\" onmouseover=\"alert(1)\">f</a>"
    found = problems(bad, pagetext.parse(bad, "http://h/"), h.strings, h.verbatim)
    assert any("unescaped" in f for f in found)
    assert any("injected" in f and "onmouseover" in f for f in found)
    assert any("injected" in f and "script" in f for f in found)


def test_known_issue_is_set_apart_but_other_problems_still_count():
    h = _hostile('x"><img src=y onerror=alert(1)>.txt', "<b>desc</b>")
    known = [{"id": "k", "kinds": ("filelog",), "span": r'<link title="feed:[^\n]*" />', "why": "w"}]
    page = '<link title="feed:x"><img src=y onerror=alert(1)>.txt" />\n<div>&lt;b&gt;desc&lt;/b&gt;</div>'
    rest, found = split_known(page, pagetext.parse(page, "http://h/"), h.strings, h.verbatim, known, "filelog")
    assert rest == [] and found
    worse = page + "<div><b>desc</b></div>"
    rest, found = split_known(worse, pagetext.parse(worse, "http://h/"), h.strings, h.verbatim, known, "filelog")
    assert rest and found


def test_raw_response_protection_grades():
    assert protection({"Content-Type": "application/binary"}) == ["inert type application/binary"]
    assert protection({"Content-Type": "text/html"}) == []
    assert protection({"Content-Type": "image/svg+xml", "Content-Disposition": "inline"}) == []
    assert protection({"Content-Type": "text/html", "Content-Disposition": "attachment; filename=x"})
    assert protection({"Content-Type": "text/html", "Content-Security-Policy": "sandbox"})
    assert protection({}) == []  # no type and no nosniff: the browser guesses
    assert protection({"X-Content-Type-Options": "nosniff"}) == ["inert type (none) + nosniff"]


def test_archive_members_with_prefix_exec_bits_and_symlinks():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data, mode in (("r-1/run.sh", b"#!/bin/sh\n", 0o755), ("r-1/a.txt", b"a", 0o644)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            t.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("r-1/link")
        link.type, link.linkname = tarfile.SYMTYPE, "a.txt"
        t.addfile(link)
    top, members = strip_prefix(read_members(buf.getvalue(), "tar.gz"))
    assert top == "r-1"
    assert members == {"run.sh": ("x", b"#!/bin/sh\n"), "a.txt": ("", b"a"), "link": ("l", b"a.txt")}
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        info = zipfile.ZipInfo("r-1/run.sh")
        info.external_attr = 0o100755 << 16
        z.writestr(info, b"x")
        info = zipfile.ZipInfo("r-1/link")
        info.external_attr = 0o120777 << 16
        z.writestr(info, b"a.txt")
    assert strip_prefix(read_members(zbuf.getvalue(), "zip"))[1] == {"run.sh": ("x", b"x"), "link": ("l", b"a.txt")}


def test_kallithea_chardet_stall_is_keyed_on_the_diff_not_the_repository(seed_repos):
    """Only a changeset whose diff holds over 16 KiB of text, some not valid UTF-8, is left unrequested on
    Kallithea (the hostile root: invalid-utf8.txt next to a 64 KiB line); every other raw patch is checked,
    and hgweb has no such issue."""
    from types import SimpleNamespace

    from hgharness.sites import load_site
    from hgharness.suites.support.known_issues import diff_issue
    from hgharness.suites.support.repodata import Repo

    repo = Repo(seed_repos / "hostile")
    kallithea = SimpleNamespace(site=load_site("kallithea"), site_name="kallithea")
    hgweb = SimpleNamespace(site=load_site("hgweb"), site_name="hgweb")
    hit = [rev for rev in range(len(repo)) if diff_issue(kallithea, "raw_rev", *repo.diff_text(rev))]
    assert hit == [repo.revs_desc[-1]]  # the root only
    size, invalid = repo.diff_text(hit[0])
    assert invalid and size > 16384
    assert [rev for rev in range(len(repo)) if repo.diff_text(rev)[1]] != hit  # smaller non-UTF-8 diffs are checked
    assert not diff_issue(hgweb, "raw_rev", size, invalid)


def test_changeset_dates_as_each_site_renders_them():
    """hgweb shows the committer's local time (Mercurial's own rfc822date); Kallithea the server's local time,
    unknown to us, so any zone, but never a wrong minute or second."""
    from mercurial.utils import dateutil

    from hgharness.sites.hgweb import HgwebSite
    from hgharness.sites.kallithea import KallitheaSite

    for when, offset in ((1700043200.0, 0), (1700043200.0, -19800), (86399.0, 25200), (1e9, 3600)):
        want = dateutil.datestr((when, offset), b"%a, %d %b %Y %H:%M:%S %1%2").decode()
        assert HgwebSite().dates_shown(when, offset) == [want]
    shown = KallitheaSite.dates_shown(1700043200.0, -7200)
    assert shown[0] == "2023-11-15 10:13:20"  # UTC first: the embedded site's zone
    assert "2023-11-15 15:43:20" in shown and "2023-11-14 22:13:20" in shown  # UTC+5:30, UTC-12
    assert not any(d.endswith(":21") or ":14:" in d for d in shown)


def test_every_page_kind_of_each_site_has_a_table_row():
    from hgharness.sites import KNOWN_SITES, load_site
    from hgharness.suites.headless import routes

    for name in KNOWN_SITES:
        assert not set(load_site(name).ROUTES) - routes.covered(), name


def test_a_table_takes_checks_for_its_own_kinds_only_and_wants_one_for_each():
    from hgharness.suites.support.table import Table

    table = Table(("rev", "capabilities"))
    with pytest.raises(ValueError, match="not a kind of this table"):
        table.check("log")(lambda c: None)
    table.check("rev")(lambda c: None)
    with pytest.raises(ValueError, match="without a check"):
        table.rows(["demo"])
    table.check("capabilities", needs="browse")(lambda c: None)
    rows = table.rows(["demo"])
    assert [r.id for r in rows] == ["rev-demo", "capabilities-demo"]
    assert [[m.args for m in r.marks] for r in rows] == [[("browse",)], [("browse",)]]


def _known_crawl_issue(issue_id: str):
    """The hgweb adapter's known crawl issue `issue_id`, the crawl's _matches, and broken(url, ref): a broken link
    to url found on ref (both paths under one repository's URL)."""
    from hgharness.sites.hgweb import HgwebSite
    from hgharness.suites.headless.crawler import Problem
    from hgharness.suites.headless.test_crawl import _matches

    issue = next(i for i in HgwebSite.KNOWN_ISSUES if i["id"] == issue_id)

    def broken(url: str, ref: str, kind: str = "broken-link") -> Problem:
        return Problem(kind, KNOWN_BASE + url, kind, KNOWN_BASE + ref)

    return issue, _matches, broken


KNOWN_BASE = "http://127.0.0.1:9/tiny"


def test_the_known_filelog_raw_link_matches_only_its_own_page():
    """hgweb-filelog-raw-link-file-not-at-rev: a broken raw-file link is the known issue only when it came from the
    history page of the same repository, revision and file (the crawl then also asks that file page for a 404)."""
    issue, _matches, broken = _known_crawl_issue("hgweb-filelog-raw-link-file-not-at-rev")
    assert _matches(issue, broken("/raw-file/tip/init.py", "/log/tip/init.py"))
    assert _matches(issue, broken("/raw-file/tip/a%20b/c.py", "/filelog/tip/a b/c.py"))
    assert not _matches(issue, broken("/raw-file/tip/init.py", "/log/tip/other.py"))  # another file
    assert not _matches(issue, broken("/raw-file/tip/init.py", "/log/default/init.py"))  # another revision
    assert not _matches(issue, broken("/raw-file/tip/init.py", "/file/tip/init.py"))  # not from a history page
    assert not _matches(issue, broken("/raw-file/tip/init.py", "/log/tip/init.py", kind="server-error"))


def test_the_known_annotate_parent_link_matches_only_annotate_pages_of_the_same_file():
    """hgweb-annotate-parent-link-copy-source: a broken annotate link is the known issue only when it came from an
    annotate page of the same repository and file (any revisions: the link names the copy source's changeset); the
    crawl then also asks the file page at that revision for a 404."""
    issue, _matches, broken = _known_crawl_issue("hgweb-annotate-parent-link-copy-source")
    assert _matches(issue, broken("/annotate/63325c7f61de/test_site.py", "/annotate/d0666b18b1b1/test_site.py"))
    assert _matches(issue, broken("/annotate/0123456789ab/a%20b/c.py", "/annotate/tip/a b/c.py"))
    assert not _matches(issue, broken("/annotate/63325c7f61de/flows.rst", "/annotate/tip/test_site.py"))
    assert not _matches(issue, broken("/annotate/63325c7f61de/test_site.py", "/file/tip/test_site.py"))
    assert not _matches(issue, broken("/file/63325c7f61de/test_site.py", "/annotate/tip/test_site.py"))
    assert not _matches(issue, broken("/annotate/63325c7f61de/test_site.py", "/annotate/tip/test_site.py",
                                      kind="server-error"))


def test_a_stage_that_cannot_start_leaves_no_temporary_directory(tmp_path, monkeypatch):
    """The suite's temporary directory is removed when the stage fails before its pytest starts (here: a run
    directory that does not exist, so its log cannot be opened); it leaked before."""
    import shutil
    import tempfile
    from pathlib import Path

    from hgharness.suites.runner import run_pytest_stage
    from hgharness.target import Target

    base = Path(tempfile.mkdtemp(prefix="hgh", dir="/tmp"))  # short: the runner puts longer bases' dirs in /tmp
    try:
        with monkeypatch.context() as m:
            m.setattr("tempfile.tempdir", str(base))
            with pytest.raises(FileNotFoundError):
                run_pytest_stage("headless", ["suites/headless/test_smoke.py"], Target(url="http://127.0.0.1:9/"),
                                 tmp_path / "missing", progress=lambda m: None)
        assert not [p.name for p in base.iterdir()]
    finally:
        shutil.rmtree(base)


def test_json_rev_reads_a_binary_files_block_and_a_text_files_block():
    from hgharness.suites.headless.representations import json_diff_files

    # hgweb's json-rev of a changeset that renames a binary and edits a text file (non-git diff)
    diff = [{"blockno": 1, "lines": [{"t": "", "n": 1, "l": "Binary file x.bin has changed\n"}]},
            {"blockno": 2, "lines": [{"t": "", "n": 1, "l": "Binary file y.bin has changed\n"}]},
            {"blockno": 3, "lines": [{"l": "--- a/t.txt\tThu Jan 01 00:00:00 1970 +0000\n"},
                                     {"l": "+++ b/t.txt\tThu Jan 01 00:00:00 1970 +0000\n"},
                                     {"l": "@@ -1,1 +1,1 @@\n"}, {"l": "-t\n"}, {"l": "+u\n"}]}]
    assert json_diff_files(diff) == {"x.bin": [], "y.bin": [], "t.txt": ["t", "u"]}


def test_changelog_labels_with_a_quote_in_a_path_escaped_or_not():
    from hgharness.suites.headless.representations import changelog_labels, label_paths

    path = '<script>/"><img src=x onerror=alert(1)>.html'
    for shown in (path, path.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")):
        text = (f'<span class="removed" data-toggle="tooltip" title="<b>Removed</b>: No files">0</span>\n'
                f'<span class="changed" data-toggle="tooltip" title="<b>Changed</b>: <br/> {shown}<br/> a.py">2</span>\n'
                f'<span class="added" data-toggle="tooltip" title="<b>Added</b>: No files">0</span>')
        labels = changelog_labels(text)
        assert sorted(labels) == ["added", "changed", "removed"]
        title, n = labels["changed"]
        assert n == "2" and label_paths(title, [path, "a.py"]) == [path, "a.py"]
    # a path's own spaces stay (hostile's "trailing-space.txt "), Kallithea's " and N more" goes
    assert label_paths("<b>Changed</b>: <br/> trailing-space.txt <br/>  lead.txt<br/> and 3 more",
                       ["trailing-space.txt ", " lead.txt"]) == ["trailing-space.txt ", " lead.txt"]
