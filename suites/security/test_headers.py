"""Response security headers, graded in a table. The target's header_policy decides what a missing header is:
"warn" (default) records a warning (pytest's warning summary, the run's security-headers.json and the
terminal summary) and passes; "strict" fails the check."""

from __future__ import annotations

import re
import warnings

import pytest

from hgharness.suites.support.http_checks import fetch, is_html

pytestmark = [pytest.mark.security, pytest.mark.nondestructive]


class SecurityHeaderWarning(UserWarning):
    """A security header the target should send is missing (header_policy = warn)."""


HEADER_ROWS = {}  # row id -> (what is graded, grader(response, https) -> problem or None)


def graded(row: str, what: str):
    def add(grader):
        HEADER_ROWS[row] = (what, grader)
        return grader
    return add


@graded("hsts", "Strict-Transport-Security on https")
def _hsts(r, https):
    if not https:
        return None  # HSTS only means something over https
    m = re.search(r"max-age\s*=\s*(\d+)", r.headers.get("Strict-Transport-Security", ""), re.I)
    return None if m and int(m.group(1)) > 0 else "no Strict-Transport-Security with a max-age"


@graded("framing", "X-Frame-Options or CSP frame-ancestors on HTML")
def _framing(r, https):
    if not is_html(r):
        return None
    xfo = r.headers.get("X-Frame-Options", "").strip().lower()
    csp = r.headers.get("Content-Security-Policy", "").lower()
    if xfo in ("deny", "sameorigin") or "frame-ancestors" in csp:
        return None
    return "neither X-Frame-Options (DENY/SAMEORIGIN) nor CSP frame-ancestors: pages can be framed (clickjacking)"


@graded("csp", "Content-Security-Policy on HTML")
def _csp(r, https):
    if not is_html(r):
        return None
    return None if r.headers.get("Content-Security-Policy") else "no Content-Security-Policy"


@graded("nosniff", "X-Content-Type-Options: nosniff")
def _nosniff(r, https):
    return None if r.headers.get("X-Content-Type-Options", "").strip().lower() == "nosniff" else \
        "no X-Content-Type-Options: nosniff"


@graded("cookies", "Secure, HttpOnly, SameSite on cookies")
def _cookies(r, https):
    bad = []
    for cookie in r.raw.headers.getlist("Set-Cookie") if hasattr(r.raw, "headers") else []:
        name = cookie.split("=", 1)[0].strip()
        flags = {f.strip().split("=")[0].lower() for f in cookie.split(";")[1:]}
        missing = [f for f, need in (("secure", https), ("httponly", True), ("samesite", True))
                   if need and f not in flags]
        if missing:
            bad.append(f"cookie {name} lacks {', '.join(missing)}")
    return "; ".join(bad) or None


@pytest.fixture(scope="module")
def sampled_responses(target, http, plan):
    """A few responses of different kinds: index, repository page, changeset, raw file, JSON."""
    name = plan.checked[0] if plan.checked else None
    paths = {"index": target.site.route("index")}
    if name:
        repo = plan.repo(name)
        node = repo.hex(repo.revs_desc[0])
        paths["summary"] = target.site.route("summary", name)
        paths["rev"] = target.site.route("rev", name, rev=node)
        files = sorted(f for f in repo.manifest(repo.revs_desc[0]) if f.isascii() and f.isprintable())
        if files:
            paths["raw_file"] = target.site.route("raw_file", name, rev=node, path=files[0])
        if "json_log" in target.site.ROUTES:
            paths["json_log"] = target.site.route("json_log", name)
    return {kind: fetch(http, target, path) for kind, path in paths.items()}


@pytest.mark.parametrize("row", list(HEADER_ROWS))
def test_security_header(target, sampled_responses, row, record_property):
    what, grade = HEADER_ROWS[row]
    https = target.url.startswith("https://")
    problems = {kind: p for kind, r in sampled_responses.items() if (p := grade(r, https))}
    if not problems:
        record_property("header_grade", {"row": row, "grade": "pass", "detail": what})
        return
    detail = "; ".join(f"{kind}: {p}" for kind, p in sorted(problems.items()))
    if target.header_policy == "strict":
        record_property("header_grade", {"row": row, "grade": "fail", "detail": detail})
        pytest.fail(f"security header {row} ({what}) missing under header_policy=strict: {detail}")
    record_property("header_grade", {"row": row, "grade": "warn", "detail": detail})
    warnings.warn(SecurityHeaderWarning(f"{row}: {detail}"), stacklevel=1)
