"""Deliberately broken hgweb targets for the browser flows' own tests: WSGI middlewares that each break one
thing a flow checks. Loaded by gunicorn through EmbeddedHgweb(wrap="tests.functional_broken:NAME")."""

from __future__ import annotations

import re

IMPOSTOR = "Mallory Impostor &lt;mallory@example.org&gt;"
AUTHOR_CELL = re.compile(rb'(<th class="author">author</th>\s*<td class="author">)(.*?)(</td>)', re.S)
SOURCE_LINE = re.compile(rb'<span id="l\d+">.*?</span><a href="#l\d+"></a>\n?', re.S)
BAD_SCRIPT = b"<script>hgharnessBrokenTargetUndefinedFunction();</script>"


def _rewrite(app, applies, change):
    """Buffer HTML responses for which applies(path) is true and pass them through change(body)."""
    def wrapped(environ, start_response):
        if not applies(environ.get("PATH_INFO", "")):
            return app(environ, start_response)
        captured, chunks = {}, []

        def capture(status, headers, exc_info=None):
            captured.update(status=status, headers=headers)
            return chunks.append

        result = app(environ, capture)
        try:
            chunks.extend(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        body = b"".join(chunks)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        if any(k.lower() == "content-type" and "text/html" in v for k, v in headers):
            body = change(body)
        start_response(captured["status"], headers + [("Content-Length", str(len(body)))])
        return [body]

    return wrapped


def wrong_author(app):
    """Changeset pages name someone else as the author."""
    return _rewrite(app, lambda path: "/rev/" in path,
                    lambda body: AUTHOR_CELL.sub(lambda m: m.group(1) + IMPOSTOR.encode() + m.group(3), body, 1))


def truncated_file(app):
    """File pages drop the file's last line."""
    def drop_last_line(body):
        lines = list(SOURCE_LINE.finditer(body))
        return body[:lines[-1].start()] + body[lines[-1].end():] if lines else body

    return _rewrite(app, lambda path: "/file/" in path, drop_last_line)


def js_error(app):
    """Every page runs a script that throws."""
    return _rewrite(app, lambda path: True, lambda body: body.replace(b"</body>", BAD_SCRIPT + b"</body>", 1))


def stylesheet_missing(app):
    """The style sheet every page links answers 404 (pages render unstyled; no script fails)."""
    def wrapped(environ, start_response):
        if environ.get("PATH_INFO", "").endswith(".css"):
            start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
            return [b"not found"]
        return app(environ, start_response)
    return wrapped
