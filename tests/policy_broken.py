"""Targets that break the response policy: WSGI middlewares around the embedded hgweb, each injecting ONE
defect that only the policy checks (suites/security/test_policy.py) catch. Used as
EmbeddedHgweb(wrap="tests.policy_broken:NAME"); gunicorn imports this module (tests/conftest.py's hgweb()
puts the project root on PYTHONPATH)."""

from __future__ import annotations


def _headers(app, edit):
    """Call the app; edit(environ, status, headers) -> headers for every answer (the body passes untouched)."""
    def wrapped(environ, start_response):
        def start(status, headers, exc_info=None):
            return start_response(status, edit(environ, status, list(headers)), exc_info)
        return app(environ, start)
    return wrapped


def _html(headers) -> bool:
    return any(k.lower() == "content-type" and v.startswith("text/html") for k, v in headers)


def _without(headers, name: str):
    return [(k, v) for k, v in headers if k.lower() != name.lower()]


def cors_reflect_credentials(app):
    """Any Origin is reflected with Access-Control-Allow-Credentials: true: every site can read it as the user."""
    def edit(environ, status, headers):
        origin = environ.get("HTTP_ORIGIN")
        if origin:
            headers += [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true"),
                        ("Vary", "Origin")]
        return headers
    return _headers(app, edit)


def cors_credentials_for_users(app):
    """The origin is reflected with credentials only on answers to authenticated requests: a foreign origin reads
    what the logged-in user sees (an anonymous visitor's answers carry no CORS header)."""
    def edit(environ, status, headers):
        origin = environ.get("HTTP_ORIGIN")
        if origin and environ.get("HTTP_AUTHORIZATION"):
            headers += [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true")]
        return headers
    return _headers(app, edit)


def cors_any_origin(app):
    """Access-Control-Allow-Origin: * on every answer: any site may read it (anonymously): a policy listing "*"
    in cors_allowed_origins accepts it, the default does not."""
    return _headers(app, lambda environ, status, headers: headers + [("Access-Control-Allow-Origin", "*")])


def preflight_grants_any(app):
    """GETs carry no CORS header, but a preflight (OPTIONS with Access-Control-Request-Method) is granted to any
    origin, with credentials: a foreign page may POST (push, API calls) as the user."""
    def wrapped(environ, start_response):
        origin = environ.get("HTTP_ORIGIN")
        if environ.get("REQUEST_METHOD") == "OPTIONS" and origin and \
                environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"):
            start_response("204 No Content", [
                ("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true"),
                ("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE"),
                ("Access-Control-Allow-Headers", "Authorization, Content-Type"), ("Content-Length", "0")])
            return [b""]
        return app(environ, start_response)
    return wrapped


def _retype(app, when, ctype: str):
    def edit(environ, status, headers):
        return _without(headers, "Content-Type") + [("Content-Type", ctype)] if when(environ) else headers
    return _headers(app, edit)


def json_as_html(app):
    """The JSON index (?style=json) is served as text/html, without nosniff: a browser renders it as a page of the
    site. (The repositories' json-* views keep their type: test_json_feeds would catch those.)"""
    return _retype(app, lambda e: "style=json" in e.get("QUERY_STRING", ""), "text/html; charset=UTF-8")


def patch_as_html(app):
    """Raw changesets (raw-rev) are served as text/html: a patch adding '<script>' runs in the site's origin."""
    return _retype(app, lambda e: "/raw-rev/" in e.get("PATH_INFO", ""), "text/html; charset=UTF-8")


def html_without_charset(app):
    """The short log is served as text/html without a charset: the browser guesses the encoding."""
    return _retype(app, lambda e: e.get("PATH_INFO", "").endswith("/shortlog"), "text/html")


def patch_without_type(app):
    """Raw changesets (raw-rev) are served with no Content-Type at all: a browser sniffs them."""
    def edit(environ, status, headers):
        if "/raw-rev/" in environ.get("PATH_INFO", ""):
            headers = _without(headers, "Content-Type")
        return headers
    return _headers(app, edit)


def deny_framing_except_shortlog(app):
    """X-Frame-Options: DENY on every HTML page but the short log (a template that forgot it)."""
    def edit(environ, status, headers):
        if _html(headers) and not environ.get("PATH_INFO", "").endswith("/shortlog"):
            headers += [("X-Frame-Options", "DENY")]
        return headers
    return _headers(app, edit)


def deny_framing(app):
    """A HEALTHY variant for a policy with frame = "deny": every HTML page says X-Frame-Options: DENY."""
    return _headers(app, lambda environ, status, headers: headers + ([("X-Frame-Options", "DENY")]
                                                                     if _html(headers) else []))


LOGIN_FORM = (b'<form method="post" action="shortlog"><input type="text" name="username">'
              b'<input type="password" name="password"><input type="submit" value="Log in"></form>')


def login_form_frameable(app):
    """The repository page gains a login form (a POST with a password field) and can be framed by any site."""
    def wrapped(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not (path.endswith("/") and path.count("/") == 2):  # /REPO/: the summary page
            return app(environ, start_response)
        captured = {}

        def start(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        result = app(environ, start)
        try:
            body = b"".join(result).replace(b"<body>", b"<body>" + LOGIN_FORM, 1)
        finally:
            getattr(result, "close", lambda: None)()
        start_response(captured["status"], _without(_without(captured["headers"], "Content-Length"),
                                                    "Transfer-Encoding") + [("Content-Length", str(len(body)))])
        return [body]
    return wrapped


def session_cookie_without_httponly(app):
    """Every answer sets a session cookie that script can read (no HttpOnly; SameSite=Lax is there)."""
    return _headers(app, lambda environ, status, headers: headers + [
        ("Set-Cookie", "hgsession=0123456789abcdef; Path=/; SameSite=Lax")])


def session_cookie_without_secure(app):
    """A session cookie with HttpOnly and SameSite=Lax but no Secure: sound over http, a leak over https."""
    return _headers(app, lambda environ, status, headers: headers + [
        ("Set-Cookie", "hgsession=0123456789abcdef; Path=/; HttpOnly; SameSite=Lax")])
