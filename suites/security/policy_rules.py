"""The response policy's rules, as graders of one response's headers (and the start of its body): each returns
the problems found, one short line each, beginning with the rule's name (`cors-credentialed: ...`). What the
rules hold a site to is the target's Policy (hgharness/policy.py)."""

from __future__ import annotations

import mimetypes
import re

from hgharness.suites.security.origin import ACTIVE_TYPES, SNIFFED_TYPES, protection

FOREIGN_ORIGIN = "https://evil.example"  # a made-up origin no site trusts; nothing is ever sent to it

# rep -> the media types it may be served as
TYPES = {
    "html": {"text/html", "application/xhtml+xml"},
    "json": {"application/json"},
    "atom": {"application/atom+xml", "application/xml", "text/xml"},
    "rss": {"application/rss+xml", "application/xml", "text/xml"},
    "patch": {"text/plain", "text/x-diff", "text/x-patch"},
    "wire": {"application/mercurial-0.1", "application/mercurial-0.2", "application/hg-changegroup"},
}
ARCHIVE_TYPES = {
    "zip": {"application/zip", "application/x-zip-compressed"},
    "tar.gz": {"application/x-gzip", "application/gzip", "application/x-tar"},
    "tgz": {"application/x-gzip", "application/gzip", "application/x-tar"},
    "tar.bz2": {"application/x-bzip2", "application/x-tar"},
    "tbz2": {"application/x-bzip2", "application/x-tar"},
}
CHARSET_REPS = ("html", "patch")  # text the site itself generates: it knows the encoding and must say it
_POST_FORM = re.compile(r"<form\b[^>]*\bmethod\s*=\s*[\"']?post", re.I)
_PASSWORD = re.compile(r"<input\b[^>]*\btype\s*=\s*[\"']?password", re.I)


def media_type(headers) -> str:
    return headers.get("Content-Type", "").split(";")[0].strip().lower()


def charset(headers) -> str | None:
    m = re.search(r";\s*charset\s*=\s*\"?([\w.:-]+)", headers.get("Content-Type", ""), re.I)
    return m.group(1) if m else None


def _grant(headers, origin: str) -> tuple[str, bool] | None:
    """(Access-Control-Allow-Origin, credentials) when the response lets `origin` read it, else None."""
    acao = headers.get("Access-Control-Allow-Origin", "").strip()
    if not acao or acao.lower() not in ("*", "null", origin.lower()):
        return None  # no grant, or a grant to another (named) origin
    acac = headers.get("Access-Control-Allow-Credentials", "").strip().lower() == "true"
    return acao, acac and acao != "*"  # browsers never send credentials to a `*` grant


def cors_problems(headers, policy, origin: str = FOREIGN_ORIGIN, preflight: bool = False) -> list[str]:
    """A foreign origin must not read the response (or, for a preflight, send what it asked to) unless the
    policy lets it; with credentials only an origin the policy names, and `cors_credentials = true`."""
    grant = _grant(headers, origin)
    if grant is None:
        return []
    acao, credentialed = grant
    what = "send requests with" if preflight else "read it with"
    said = f"Access-Control-Allow-Origin: {acao}" + (", Access-Control-Allow-Credentials: true" if credentialed
                                                      else "")
    rule = "cors-preflight" if preflight else "cors-credentialed" if credentialed else "cors-anonymous"
    if policy.allows_origin(origin, credentials=credentialed):
        return []
    if credentialed:
        return [f"{rule}: lets {origin} {what} the user's credentials ({said})"]
    return [f"{rule}: lets {origin} {'send requests' if preflight else 'read it'} ({said}); "
            "cors_allowed_origins does not allow it"]


def type_problems(rep: str, headers, path: str = "", fmt: str = "", policy=None) -> list[str]:
    """The Content-Type fits the representation (with a charset where the site generates text); a type a
    browser would sniff carries nosniff (every response does under nosniff = "always")."""
    ctype, out = media_type(headers), []
    nosniff = headers.get("X-Content-Type-Options", "").strip().lower() == "nosniff"
    said = repr(headers.get("Content-Type")) if headers.get("Content-Type") else "no Content-Type"
    if rep in TYPES:
        if ctype not in TYPES[rep] and not (rep == "json" and ctype.endswith("+json")):
            out.append(f"content-type: {rep} served as {said} (expected {' or '.join(sorted(TYPES[rep]))})")
        elif rep in CHARSET_REPS and not charset(headers):
            out.append(f"charset: {rep} served as {said}, without a charset")
    elif rep == "archive":
        allowed = ARCHIVE_TYPES.get(fmt, set())
        if ctype not in allowed:
            out.append(f"content-type: {fmt} archive served as {said} (expected {' or '.join(sorted(allowed))})")
    elif rep == "raw":
        if not protection(headers):
            out.append(f"content-type: raw file served as {said}, inline, without nosniff or CSP: it could run "
                       "script in the site's origin")
    elif rep == "static":
        guessed = mimetypes.guess_type(path)[0]
        js = {"application/javascript", "text/javascript", "application/x-javascript"}
        if guessed and ctype != guessed and not (guessed in js and ctype in js):
            out.append(f"content-type: static file {path.rsplit('/', 1)[-1]!r} served as {said} (expected {guessed})")
        elif ctype in ACTIVE_TYPES and not (guessed and guessed == ctype):
            out.append(f"content-type: static file served as {said}")
    if not nosniff and (ctype in SNIFFED_TYPES or (policy is not None and policy.nosniff == "always")):
        why = "a type browsers sniff" if ctype in SNIFFED_TYPES else 'the policy says nosniff = "always"'
        out.append(f"nosniff: {said} without X-Content-Type-Options: nosniff ({why})")
    return out


def has_form(body: str) -> bool:
    """A form that changes something or asks a password: what clickjacking would make a user submit."""
    return bool(_POST_FORM.search(body) or _PASSWORD.search(body))


def frame_ancestors(headers) -> list[str] | None:
    """The sources of CSP frame-ancestors (None: no such directive; browsers then follow X-Frame-Options)."""
    for csp in headers.get("Content-Security-Policy", "").split(","):
        for directive in csp.split(";"):
            words = directive.split()
            if words and words[0].lower() == "frame-ancestors":
                return [w.lower() for w in words[1:]]
    return None


def frame_problems(headers, level: str, site_origin: str) -> list[str]:
    """A page refuses to be framed as `level` asks: deny (nobody), sameorigin (the site only), any (unchecked)."""
    if level == "any":
        return []
    sources = frame_ancestors(headers)
    if sources is not None:
        allowed = {"'none'"} | ({"'self'", site_origin.lower()} if level == "sameorigin" else set())
        extra = [s for s in sources if s not in allowed]
        if not extra and sources:
            return []
        said = f"CSP frame-ancestors {' '.join(sources) or '(empty)'}"
    else:
        xfo = headers.get("X-Frame-Options", "").strip().lower()
        if xfo == "deny" or (xfo == "sameorigin" and level == "sameorigin"):
            return []
        said = f"X-Frame-Options: {xfo.upper()}" if xfo else "neither X-Frame-Options nor CSP frame-ancestors"
    return [f"framing: {said}, but the policy says {level}: other sites can frame it (clickjacking)"]


def cookie_problems(set_cookies: list[str], https: bool, policy) -> list[str]:
    """Each Set-Cookie has the flags the policy asks: HttpOnly, SameSite (at least as strict), Secure on https."""
    out = []
    for cookie in set_cookies:
        name = cookie.split("=", 1)[0].strip()
        flags = {}
        for part in cookie.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            flags[key.lower()] = value.strip().lower()
        if policy.cookie_httponly and "httponly" not in flags:
            out.append(f"cookie-httponly: cookie {name!r} without HttpOnly (script can read it)")
        samesite = flags.get("samesite", "")
        if policy.cookie_samesite == "strict" and samesite != "strict" or \
                policy.cookie_samesite == "lax" and samesite not in ("lax", "strict"):
            out.append(f"cookie-samesite: cookie {name!r} with SameSite={samesite or '(none)'}, the policy asks "
                       f"{policy.cookie_samesite} or stricter")
        if https and policy.cookie_secure and "secure" not in flags:
            out.append(f"cookie-secure: cookie {name!r} without Secure on an https site")
    return out
