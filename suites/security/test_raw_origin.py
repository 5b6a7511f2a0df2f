"""Raw files and archives cannot run script in the site's origin: each response is either a download
(Content-Disposition: attachment), of a type a browser will not render as a document (and, for types a
browser would sniff, with nosniff), or sandboxed by CSP. The protection found is reported per response."""

from __future__ import annotations

import pytest
from hgharness.suites.headless.http_checks import TIMEOUT, fetch
from hgharness.suites.headless.sitefacts import KnownIssue, known_defect
from hgharness.suites.headless.suite_plugin import parametrize

pytestmark = [pytest.mark.security, pytest.mark.nondestructive]

# Types a browser renders as a document that can run script
ACTIVE_TYPES = {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml", "text/xsl",
                "application/xslt+xml", "application/vnd.wap.xhtml+xml", "multipart/x-mixed-replace"}
# Types that make a browser sniff the content (and maybe render HTML) unless nosniff is set
SNIFFED_TYPES = {"", "unknown/unknown", "application/unknown", "*/*"}
RISKY_SUFFIXES = (".html", ".htm", ".xhtml", ".xht", ".svg", ".xml", ".xsl", ".js", ".shtml")
MAX_FILES = 4


def protection(headers) -> list[str]:
    """The protections a response has against running as a document of the site's origin (empty: none)."""
    ctype = headers.get("Content-Type", "").split(";")[0].strip().lower()
    nosniff = headers.get("X-Content-Type-Options", "").strip().lower() == "nosniff"
    disposition = headers.get("Content-Disposition", "").strip().lower()
    csp = headers.get("Content-Security-Policy", "").lower()
    found = []
    if disposition.startswith("attachment"):
        found.append("download (Content-Disposition: attachment)")
    if "sandbox" in csp or "script-src 'none'" in csp or ("default-src 'none'" in csp and "script-src" not in csp):
        found.append("CSP sandbox/no script")
    active = ctype in ACTIVE_TYPES or ctype.endswith("+xml")
    if not active:
        if ctype in SNIFFED_TYPES and not nosniff:
            pass  # the browser guesses: HTML content would render as HTML
        else:
            found.append(f"inert type {ctype or '(none)'}" + (" + nosniff" if nosniff else ""))
    return found


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


def pytest_generate_tests(metafunc):
    from hgharness.suites.headless.plan import get_plan

    plan = get_plan(metafunc.config)
    if "raw_repo" in metafunc.fixturenames:
        names = plan.checked if plan.error is None else []
        parametrize(metafunc, "raw_repo", names, names)
    if "archive_case" in metafunc.fixturenames:
        rows = []
        if plan.error is None:
            formats = getattr(plan.target.site, "ARCHIVE_FORMATS", ("zip",))
            rows = [(n, f) for n in plan.checked for f in formats]
        parametrize(metafunc, "archive_case", rows, [f"{n}-{f}" for n, f in rows])


def _newest_with_files(repo):
    for r in repo.revs_desc[:50]:
        if repo.manifest(r):
            return r
    return None


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
        if not how:
            unsafe.append(f"{path!r} served as {r.headers.get('Content-Type')!r}, inline, without nosniff or CSP")
    record_property("protection", seen)
    print("\n".join(seen))
    assert not unsafe, f"raw files of {raw_repo} could run script in the site's origin: " + "; ".join(unsafe)
    if known:
        known_defect(target, f"{len(known)} raw file(s) not requested: {known[0]}")


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
