"""Raw files and archives cannot run script in the site's origin: each response is either a download
(Content-Disposition: attachment), of a type a browser will not render as a document (and, for types a
browser would sniff, with nosniff), or sandboxed by CSP. The protection found is reported per response."""

from __future__ import annotations

import pytest

from hgharness.suites.security.origin import protection
from hgharness.suites.support.http_checks import TIMEOUT, fetch
from hgharness.suites.support.known_issues import KnownIssue, inline_type_issue, known_defect
from hgharness.suites.support.table import from_plan

pytestmark = [pytest.mark.security, pytest.mark.nondestructive]

RISKY_SUFFIXES = (".html", ".htm", ".xhtml", ".xht", ".svg", ".xml", ".xsl", ".js", ".shtml")
MAX_FILES = 4


def risky_files(repo, rev, limit: int = MAX_FILES) -> list[str]:
    """Files a browser would render as a page if served as such: by name, then by content starting with '<'."""
    mf = repo.manifest(rev)
    names = sorted(f for f in mf if f.lower().endswith(RISKY_SUFFIXES) and mf[f] != "l")
    if len(names) < limit:
        for f in sorted(mf)[:200]:
            if f not in names and mf[f] != "l" and repo.data(rev, f).lstrip()[:1] == b"<":
                names.append(f)
    plain = [f for f in sorted(mf) if f not in names and mf[f] != "l"][:1]
    return names[:limit] + plain


def repo_rows(plan) -> list:
    return [pytest.param(name, id=name) for name in plan.checked]


def archive_rows(plan) -> list:
    return [pytest.param((name, fmt), id=f"{name}-{fmt}") for name in plan.checked
            for fmt in plan.target.site.ARCHIVE_FORMATS]


def _newest_with_files(repo):
    for r in repo.revs_desc[:50]:
        if repo.manifest(r):
            return r
    return None


@from_plan("raw_repo", repo_rows)
@pytest.mark.needs("browse")
def test_raw_file_cannot_run_script(target, http, plan, raw_repo, record_property):
    repo = plan.repo(raw_repo)
    rev = _newest_with_files(repo)
    if rev is None:
        pytest.skip(f"{raw_repo} has no files near its tip")
    node = repo.hex(rev)
    seen, unsafe, known = [], [], []
    for path in risky_files(repo, rev):
        try:
            r = fetch(http, target, target.site.route("raw_file", raw_repo, rev=node, path=path))
        except KnownIssue as e:
            known.append(str(e))
            continue
        how = protection(r.headers)
        seen.append(f"{path}: {' and '.join(how) or 'NONE'}")
        issue = None if how else inline_type_issue(target, "raw_file", r.headers.get("Content-Type", ""))
        if issue:
            known.append(f"known {issue['id']}: {path!r} served as {r.headers.get('Content-Type')!r}, inline, "
                         f"without nosniff or CSP: {issue['why']}")
        elif not how:
            unsafe.append(f"{path!r} served as {r.headers.get('Content-Type')!r}, inline, without nosniff or CSP")
    record_property("protection", seen)
    print("\n".join(seen))
    assert not unsafe, f"raw files of {raw_repo} could run script in the site's origin: " + "; ".join(unsafe)
    if known:
        known_defect(target, f"{len(known)} raw file(s) not requested or served unsafely as known: {known[0]}")


@from_plan("archive_case", archive_rows)
@pytest.mark.needs("archives")
def test_archive_cannot_run_script(target, http, plan, archive_case, record_property):
    name, fmt = archive_case
    repo = plan.repo(name)
    if not repo.revs_desc:
        pytest.skip(f"{name} is empty: no revision to archive")
    path = target.site.route("archive", name, rev=repo.hex(repo.revs_desc[0]), fmt=fmt)
    # the headers are what is graded: the body (checked by test_archives) is not downloaded again
    with http.get(target.url_for(path), timeout=TIMEOUT, stream=True) as r:
        assert r.status_code == 200, f"{fmt} archive of {name}: HTTP {r.status_code}"
        how = protection(r.headers)
    record_property("protection", [f"{fmt} archive: {' and '.join(how) or 'NONE'}"])
    assert how, (f"{fmt} archive of {name} could run script in the site's origin: served as "
                 f"{r.headers.get('Content-Type')!r}, inline, without nosniff or CSP")
