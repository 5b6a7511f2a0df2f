"""Deliberately broken targets: WSGI middlewares around the embedded hgweb, each injecting ONE defect.

Used as EmbeddedHgweb(wrap="tests.broken_targets:NAME"); gunicorn imports this module (tests/conftest.py's
hgweb() puts the project root on PYTHONPATH). `app` is the embedded application: hgwebdir behind the basic
auth layer (its `.app` is hgwebdir itself).
"""

from __future__ import annotations

import io
import os
import re
import tarfile
import urllib.parse
import zipfile

# --- plumbing -------------------------------------------------------------------------------------------------


def answer(app, environ) -> tuple[str, list, bytes]:
    """The app's whole answer to a request: (status, headers, body), the body read out and the result closed."""
    captured, written = {}, []

    def capture(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, list(headers)
        return written.append  # hgweb streams archives through write()

    result = app(environ, capture)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return captured["status"], captured["headers"], b"".join(written) + body


def _rewrite(app, when, edit):
    """Call the app; for requests where when(environ) holds, hand (status, headers, body) to edit()."""

    def wrapped(environ, start_response):
        if not when(environ):
            return app(environ, start_response)
        status, headers, body = edit(*answer(app, environ), environ)
        headers = [(k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")]
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]

    return wrapped


def _path(environ) -> str:
    return environ.get("PATH_INFO", "")


def _ok(status) -> bool:
    return status.startswith("200")


def _set_header(headers, name, value):
    return [(k, v) for k, v in headers if k.lower() != name.lower()] + [(name, value)]


# --- the defects ----------------------------------------------------------------------------------------------

def _error_500_on(app, fragment: str):
    def wrapped(environ, start_response):
        if fragment in _path(environ):
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"internal error\n"]
        return app(environ, start_response)
    return wrapped


def error_500_annotate(app):
    """Annotate pages fail with a 500."""
    return _error_500_on(app, "/annotate/")


def error_500_rev(app):
    """Changeset pages (/REPO/rev/...) fail with a 500: one node of a fleet broken on one page kind."""
    return _error_500_on(app, "/rev/")


def unescaped_description(app):
    """Changeset pages print the description without HTML escaping."""
    def edit(status, headers, body, environ):
        def unescape(m):
            text = m.group(2)
            for a, b in ((b"&lt;", b"<"), (b"&gt;", b">"), (b"&quot;", b'"'), (b"&#39;", b"'"), (b"&amp;", b"&")):
                text = text.replace(a, b)
            return m.group(1) + text + m.group(3)
        return status, headers, re.sub(rb'(<div class="description">)(.*?)(</div>)', unescape, body, flags=re.S)
    return _rewrite(app, lambda e: "/rev/" in _path(e), edit)


def truncated_raw_file(app):
    """Raw files lose their last byte."""
    return _rewrite(app, lambda e: "/raw-file/" in _path(e),
                    lambda s, h, b, e: (s, h, b[:-1] if _ok(s) and b else b))


def wrong_archive_member(app):
    """Archives carry one member whose content differs from the repository's."""
    def edit(status, headers, body, environ):
        if not _ok(status):
            return status, headers, body
        path = _path(environ)
        if path.endswith(".zip"):
            src, out = zipfile.ZipFile(io.BytesIO(body)), io.BytesIO()
            with zipfile.ZipFile(out, "w") as dst:
                changed = False
                for info in src.infolist():
                    data = src.read(info)
                    if not changed and not info.filename.endswith(".hg_archival.txt"):
                        data, changed = data + b"!", True
                    dst.writestr(info, data)
            return status, headers, out.getvalue()
        mode = "gz" if path.endswith(".tar.gz") else "bz2"
        src, out = tarfile.open(fileobj=io.BytesIO(body), mode="r:*"), io.BytesIO()
        with tarfile.open(fileobj=out, mode=f"w:{mode}") as dst:
            changed = False
            for m in src.getmembers():
                data = src.extractfile(m).read() if m.isfile() else None
                if data is not None and not changed and not m.name.endswith(".hg_archival.txt"):
                    data, changed = data + b"!", True
                    m.size = len(data)
                dst.addfile(m, io.BytesIO(data) if data is not None else None)
        return status, headers, out.getvalue()
    return _rewrite(app, lambda e: "/archive/" in _path(e), edit)


def archive_drops_exec_bit(app):
    """tar archives lose the executable bit of their files."""
    def edit(status, headers, body, environ):
        if not _ok(status):
            return status, headers, body
        mode = "gz" if _path(environ).endswith(".tar.gz") else "bz2"
        src, out = tarfile.open(fileobj=io.BytesIO(body), mode="r:*"), io.BytesIO()
        with tarfile.open(fileobj=out, mode=f"w:{mode}") as dst:
            for m in src.getmembers():
                data = src.extractfile(m).read() if m.isfile() else None
                m.mode &= ~0o111
                dst.addfile(m, io.BytesIO(data) if data is not None else None)
        return status, headers, out.getvalue()
    return _rewrite(app, lambda e: "/archive/" in _path(e) and ".tar." in _path(e), edit)


def changeset_wrong_author(app):
    """Changeset pages show someone else as the author."""
    return _rewrite(app, lambda e: "/rev/" in _path(e), lambda s, h, b, e: (
        s, h, re.sub(rb'(<td class="author">)&#[^<]*(</td>)', rb"\1Nobody &lt;nobody@example.org&gt;\2", b, count=1)))


def search_ignores_query(app):
    """The keyword search returns the whole history instead of the matches."""
    def wrapped(environ, start_response):
        if re.search(r"/(log|shortlog)$", _path(environ)):
            qs = urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""))
            environ["QUERY_STRING"] = urllib.parse.urlencode([(k, v) for k, v in qs if k != "rev"])
        return app(environ, start_response)
    return wrapped


def dead_link(app):
    """Every repository page links to a page that does not exist."""
    def edit(status, headers, body, environ):
        repo = _path(environ).strip("/").split("/", 1)[0]
        link = f'<a href="{environ.get("SCRIPT_NAME", "")}/{repo}/no-such-page-hgharness">more</a>'.encode()
        return status, headers, body.replace(b"<body>", b"<body>" + link, 1)
    return _rewrite(app, lambda e: _path(e).strip("/") != "" and "static" not in _path(e), edit)


def anonymous_push_accepted(app):
    """Pushes without credentials are accepted (as if the front had authenticated them)."""
    inner = getattr(app, "app", app)

    def wrapped(environ, start_response):
        if "HTTP_AUTHORIZATION" not in environ and "cmd=" in environ.get("QUERY_STRING", ""):
            environ["REMOTE_USER"] = "hgharness"
            return inner(environ, start_response)
        return app(environ, start_response)
    return wrapped


def wrong_password_accepted(app):
    """Any password is accepted for a known user name."""
    inner = getattr(app, "app", app)

    def wrapped(environ, start_response):
        if environ.get("HTTP_AUTHORIZATION"):
            environ.pop("HTTP_AUTHORIZATION")
            environ["REMOTE_USER"] = "hgharness"
            return inner(environ, start_response)
        return app(environ, start_response)
    return wrapped


def log_drops_entry(app):
    """History pages silently drop their second entry."""
    def edit(status, headers, body, environ):
        m = re.search(rb'<tbody class="stripes2">\s*(<tr>.*?</tr>\s*)(<tr>.*?</tr>)', body, flags=re.S)
        return status, headers, (body[:m.start(2)] + body[m.end(2):]) if m else body
    return _rewrite(app, lambda e: re.search(r"/(shortlog|log)(/|$)", _path(e)) is not None, edit)


def pagination_link_broken(app):
    """History pages have no navigation to the next page."""
    return _rewrite(app, lambda e: re.search(r"/(shortlog|log)(/|$)", _path(e)) is not None,
                    lambda s, h, b, e: (s, h, re.sub(rb'<div class="navigate">.*?</div>', b"", b, flags=re.S)))


def raw_served_as_html(app):
    """Raw files are served as text/html, inline: a hostile .html file runs in the site's origin."""
    return _rewrite(app, lambda e: "/raw-file/" in _path(e),
                    lambda s, h, b, e: (s, _set_header([x for x in h if x[0].lower() != "content-disposition"],
                                                        "Content-Type", "text/html; charset=UTF-8"), b))


def file_view_byte_changed(app):
    """File pages show a wrong character in their first line."""
    def edit(status, headers, body, environ):
        return status, headers, re.sub(rb'(<span id="l1">)(\s*)([^<\s])', lambda m: m.group(1) + m.group(2) + (
            b"#" if m.group(3) != b"#" else b"%"), body, count=1)
    return _rewrite(app, lambda e: "/file/" in _path(e), edit)


def json_tags_missing_tag(app):
    """json-tags leaves out one tag."""
    def edit(status, headers, body, environ):
        return status, headers, re.sub(rb'\{\s*"tag":[^}]*\}(,\s*)?', b"", body, count=1)
    return _rewrite(app, lambda e: _path(e).endswith("/json-tags"), edit)


def feed_not_xml(app):
    """The atom feed is not well-formed XML."""
    return _rewrite(app, lambda e: "/atom-log" in _path(e),
                    lambda s, h, b, e: (s, h, b.replace(b"</feed>", b"<entry>&broken</feed>")))


def traceback_in_body(app):
    """Graph pages carry a Python traceback."""
    tb = b"<pre>Traceback (most recent call last):\n  File \"hgweb.py\", line 1, in graph\nKeyError: 'x'</pre>"
    return _rewrite(app, lambda e: "/graph" in _path(e), lambda s, h, b, e: (s, h, b.replace(b"</body>", tb + b"</body>")))


def unknown_rev_200(app):
    """An unknown revision gives 200 instead of 404."""
    return _rewrite(app, lambda e: "/rev/" in _path(e),
                    lambda s, h, b, e: ("200 Script output follows" if s.startswith("404") else s, h, b))


def traversal_leak(app):
    """A '..' in a path serves the server's hgweb configuration."""
    def wrapped(environ, start_response):
        raw = environ.get("RAW_URI", "") + _path(environ)
        if ".." in raw or "%2e%2e" in raw.lower():
            with open(os.environ["HGHARNESS_HGWEB_CONFIG"], "rb") as f:
                data = f.read()
            start_response("200 OK", [("Content-Type", "application/binary"), ("Content-Length", str(len(data)))])
            return [data]
        return app(environ, start_response)
    return wrapped


def capabilities_broken(app):
    """The wire protocol answers `capabilities` with nothing."""
    return _rewrite(app, lambda e: "cmd=capabilities" in e.get("QUERY_STRING", ""), lambda s, h, b, e: (s, h, b""))


SECURE_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"),
]


def secure_headers(app):
    """A HEALTHY variant: every response carries the security headers (passes header_policy=strict)."""
    return _rewrite(app, lambda e: True, lambda s, h, b, e: (s, h + SECURE_HEADERS, b))


def secure_headers_without_nosniff(app):
    """Security headers, but no X-Content-Type-Options: nosniff."""
    return _rewrite(app, lambda e: True,
                    lambda s, h, b, e: (s, h + [x for x in SECURE_HEADERS if x[0] != "X-Content-Type-Options"], b))


def link_escapes_prefix(app):
    """Pages link to a path on the same host outside the site's prefix."""
    return _rewrite(app, lambda e: True, lambda s, h, b, e: (
        s, h, b.replace(b"<body>", b'<body><a href="/outside-the-prefix/page">elsewhere</a>', 1)))


_DATE = re.compile(rb"(\w{3}, \d\d \w{3} \d{4} )(\d\d)(:\d\d:\d\d [+-]\d{4})")


def dates_one_hour_late(app):
    """Every page shows dates one hour late (a time-zone bug); JSON keeps the right ones."""
    def edit(status, headers, body, environ):
        return status, headers, _DATE.sub(lambda m: m.group(1) + b"%02d" % ((int(m.group(2)) + 1) % 24) + m.group(3),
                                          body)
    return _rewrite(app, lambda e: "/json-" not in _path(e), edit)


_ANNOTATE_CELL = re.compile(rb'(<td class="annotate parity\d">\n<a href="[^"]*/annotate/)([0-9a-f]{12})')


def annotate_credits_first_changeset(app):
    """Annotate pages link every line's revision to the changeset of the first line (the other links of the
    line, and the set of changesets on the page, stay right)."""
    def edit(status, headers, body, environ):
        first = _ANNOTATE_CELL.search(body)
        if first is None:
            return status, headers, body
        return status, headers, _ANNOTATE_CELL.sub(lambda m: m.group(1) + first.group(2), body)
    return _rewrite(app, lambda e: "/annotate/" in _path(e), edit)


_TAG_ROW = re.compile(rb'<tr class="tagEntry">.*?</tr>', re.S)
_ROW_NODE = re.compile(rb'(<td class="node">\s*<a href="[^"]*/(?:rev|shortlog)/)([0-9a-f]{12})("[^>]*>\s*)([0-9a-f]{12})')


def tags_swapped(app):
    """The tags and branches pages show their last two names at each other's changeset (every name and every
    node is still on the page)."""
    def edit(status, headers, body, environ):
        rows = [(row, _ROW_NODE.search(row)) for row in _TAG_ROW.findall(body)]
        rows = [(row, m) for row, m in rows if m]
        if len(rows) < 2:
            return status, headers, body
        (a, ma), (b, mb) = rows[-2:]

        def put(row, m):
            return _ROW_NODE.sub(lambda x: x.group(1) + m.group(2) + x.group(3) + m.group(4), row, count=1)
        return status, headers, body.replace(a, put(a, mb), 1).replace(b, put(b, ma), 1)
    return _rewrite(app, lambda e: _path(e).endswith(("/tags", "/branches")), edit)


def branchmap_drops_branch(app):
    """The wire protocol's `branchmap` leaves out its last branch (`hg pull -b` and push checks go wrong)."""
    def edit(status, headers, body, environ):
        lines = body.splitlines(True)
        return status, headers, b"".join(lines[:-1]) if len(lines) > 1 else body
    return _rewrite(app, lambda e: "cmd=branchmap" in e.get("QUERY_STRING", ""), edit)


def pages_cached_forever(app):
    """HTML pages are cached by URL and never invalidated: after a push the site keeps showing the old history.
    (The cache lives in the server's work dir, shared by every gunicorn worker, removed with the server.)"""
    import hashlib

    cache_dir = os.path.join(os.path.dirname(os.environ["HGHARNESS_HGWEB_CONFIG"]), "stale-page-cache")
    os.makedirs(cache_dir, exist_ok=True)
    fresh = _rewrite(app, lambda e: True, lambda s, h, b, e: (s, h, b))

    def wrapped(environ, start_response):
        query = environ.get("QUERY_STRING", "")
        if environ.get("REQUEST_METHOD") != "GET" or "cmd=" in query or "/static" in _path(environ):
            return app(environ, start_response)
        key = hashlib.sha1(f"{_path(environ)}?{query}".encode()).hexdigest()
        path = os.path.join(cache_dir, key)
        if not os.path.exists(path):
            captured = {}

            def capture(status, headers, exc_info=None):
                captured.update(status=status, headers=headers)
            body = b"".join(fresh(environ, capture))
            if not captured["status"].startswith("200"):
                start_response(captured["status"], captured["headers"])
                return [body]
            with open(path + ".tmp", "wb") as f:
                f.write(body)
            os.replace(path + ".tmp", path)
        with open(path, "rb") as f:
            body = f.read()
        start_response("200 OK", [("Content-Type", "text/html; charset=UTF-8"), ("Content-Length", str(len(body)))])
        return [body]
    return wrapped


def comparison_crashes_the_worker(app):
    """Comparison pages kill the server process serving them: the connection closes with no answer at all
    (the site is still up: gunicorn starts a new worker)."""
    def wrapped(environ, start_response):
        if "/comparison/" in _path(environ):
            os._exit(1)
        return app(environ, start_response)
    return wrapped


_PARENTS_ROW = re.compile(rb'(<th class="author">parents</th>\s*<td class="author">)(.*?)(</td>)', re.S)
_THIS_NODE = re.compile(rb'changeset \d+:<a href="[^"]*/rev/([0-9a-f]{12})"')


def parent_links_to_itself(app):
    """Changeset pages link their parents to the changeset itself."""
    def edit(status, headers, body, environ):
        this = _THIS_NODE.search(body)
        if this is None:
            return status, headers, body
        return status, headers, _PARENTS_ROW.sub(
            lambda m: m.group(1) + re.sub(rb"[0-9a-f]{12}", this.group(1), m.group(2)) + m.group(3), body)
    return _rewrite(app, lambda e: "/rev/" in _path(e), edit)


_FILES_CELL = re.compile(rb'<td class="files">.*?</td>', re.S)


def file_links_at_tip(app):
    """Changeset pages link their files at tip, not at the changeset (same text, other content)."""
    return _rewrite(app, lambda e: "/rev/" in _path(e), lambda s, h, b, e: (s, h, _FILES_CELL.sub(
        lambda m: re.sub(rb"/file/[0-9a-f]{12}/", b"/file/tip/", m.group(0)), b, count=1)))


_ATOM_LINK = re.compile(rb'(<link href="[^"]*/rev/)([0-9a-f]{12,40})')


def atom_links_to_first_entry(app):
    """Atom entries all link to the newest changeset (their ids stay right)."""
    def edit(status, headers, body, environ):
        nodes = _ATOM_LINK.findall(body)
        if len(nodes) < 2:
            return status, headers, body
        return status, headers, _ATOM_LINK.sub(lambda m: m.group(1) + nodes[0][1], body)
    return _rewrite(app, lambda e: "atom" in _path(e), edit)


def stale_feeds(app):
    """The atom and rss feeds lag two changesets behind the repository, as a cache that no push invalidates would
    (Kallithea 0.7.0 does so for 7 days, a known issue of its adapter; hgweb declares none)."""
    def wrapped(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.rstrip("/").endswith(("/atom-log", "/rss-log")):
            environ = {**environ, "PATH_INFO": path.rstrip("/") + "/-3"}  # the log as of tip~2
        return app(environ, start_response)
    return wrapped


def bundles_cut_short(app):
    """Changegroups (getbundle) lose their second half: every clone breaks off mid-stream."""
    return _rewrite(app, lambda e: "cmd=getbundle" in e.get("QUERY_STRING", ""),
                    lambda s, h, b, e: (s, h, b[:len(b) // 2]))


def etag_never_changes(app):
    """Pages carry one ETag forever and answer 304 to it: after a push, browsers keep the old history."""
    def wrapped(environ, start_response):
        query = environ.get("QUERY_STRING", "")
        if "cmd=" in query or environ.get("REQUEST_METHOD") != "GET":
            return app(environ, start_response)
        if environ.get("HTTP_IF_NONE_MATCH") == 'W/"hgharness-stale"':
            start_response("304 Not Modified", [("ETag", 'W/"hgharness-stale"')])
            return [b""]

        def with_etag(status, headers, exc_info=None):
            return start_response(status, _set_header(headers, "ETag", 'W/"hgharness-stale"'), exc_info)
        return app(environ, with_etag)
    return wrapped
