"""One way to fetch a page in a check: the status is asserted, the body is scanned for a server traceback,
and the failure message names the route, the status and the start of the body."""

from __future__ import annotations

from hgharness.procs import BASE_TIMEOUT
from hgharness.suites.support import pagetext
from hgharness.suites.support.known_issues import KnownIssue, url_issue

TIMEOUT = 2 * BASE_TIMEOUT
HTML_TYPES = ("text/html", "application/xhtml+xml")


def snippet(r, n: int = 200) -> str:
    try:
        body = r.text
    except Exception:  # undecodable body: show bytes
        body = repr(r.content[:n])
    return " ".join(body[:n].split())


def fetch(http, target, path: str, expect: int | tuple = 200, expected_content: str = "", what: str = "",
          headers: dict | None = None):
    """GET a path under the target; assert the status and that no traceback leaked into the body.
    A path that would only reproduce a known defect of the site raises KnownIssue instead (see known_issues)."""
    issue = url_issue(target, path)
    if issue is not None:
        raise KnownIssue(issue, path)
    url = target.url_for(path)
    r = http.get(url, timeout=TIMEOUT, headers=headers)
    allowed = expect if isinstance(expect, tuple) else (expect,)
    label = what or f"/{path}"
    assert r.status_code in allowed, (f"{label}: HTTP {r.status_code}, expected {' or '.join(map(str, allowed))}"
                                      f" ({snippet(r)!r})")
    if not _is_binary(r):
        tb = pagetext.traceback_in(r.text, expected_content)
        assert tb is None, f"{label}: server traceback in the body ({tb!r})"
    return r


def is_html(r) -> bool:
    return r.headers.get("Content-Type", "").split(";")[0].strip().lower() in HTML_TYPES


def _is_binary(r) -> bool:
    ctype = r.headers.get("Content-Type", "").lower()
    return not (ctype.startswith("text/") or "json" in ctype or "xml" in ctype)


def page(http, target, path: str, expect: int = 200, expected_content: str = "", what: str = ""):
    """Fetch an HTML page and parse it; returns (response, pagetext.Page)."""
    r = fetch(http, target, path, expect=expect, expected_content=expected_content, what=what)
    assert is_html(r), f"{what or '/' + path}: Content-Type {r.headers.get('Content-Type')!r}, expected HTML"
    return r, pagetext.parse(r.text, r.url)
