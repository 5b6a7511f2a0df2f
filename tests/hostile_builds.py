"""Hostile builds: WSGI middlewares around the embedded hgweb whose answers would hang or flood a careless client.

Used as EmbeddedHgweb(wrap="tests.hostile_builds:NAME"), as tests/broken_targets.py's one-defect builds are.
"""

from __future__ import annotations

import os

from tests.broken_targets import _path

# issue 16 items 2 and 3: the harness must stay bounded in time and memory


def _hostile_match(environ) -> bool:
    """The requests a hostile build answers badly: one page kind (HOSTILE_PAGE, a path fragment, default
    "/log") and the wire protocol's capabilities command (every Mercurial operation starts with it)."""
    page = os.environ.get("HOSTILE_PAGE", "/log")
    return page in _path(environ) or "cmd=capabilities" in environ.get("QUERY_STRING", "")


def _hostile_type(environ) -> str:
    # a wire-protocol answer says it is one: Mercurial reads the body of nothing else
    return "application/mercurial-0.1" if "cmd=" in environ.get("QUERY_STRING", "") else "text/html; charset=utf-8"


def trickle(app):
    """Those answers come one byte a second, for ever (the server's 300 s worker timeout aside)."""
    import time

    def middleware(environ, start_response):
        if not _hostile_match(environ):
            return app(environ, start_response)
        start_response("200 OK", [("Content-Type", _hostile_type(environ))])

        def drip():
            yield b"<"
            while True:
                time.sleep(1)  # the trickle under test: one byte a second
                yield b"x"

        return drip()

    return middleware


HUGE_BYTES = 2 * 2**30


def huge_answers(app):
    """Those answers are 2 GiB long (declared as chunked, so no Content-Length warns the client first)."""

    def middleware(environ, start_response):
        if not _hostile_match(environ):
            return app(environ, start_response)
        start_response("200 OK", [("Content-Type", _hostile_type(environ))])
        block = b"x" * (1 << 20)

        def flood():
            for _ in range(HUGE_BYTES // len(block)):
                yield block

        return flood()

    return middleware
