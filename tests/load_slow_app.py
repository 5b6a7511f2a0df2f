"""Servers with a known injected delay, for the load tests (real HTTP servers: gunicorn loads these).

- `delayed`: a WSGI app answering every path with a small page after exactly DELAY_MS: the reference a load
  measurement must reproduce (gunicorn gthread, so concurrent requests wait in parallel, not in a queue).
- `slow_changesets(app)`: middleware for EmbeddedHgweb(wrap="tests.load_slow_app:slow_changesets"): changeset
  pages (/rev/) answer CHANGESET_DELAY_MS late, every other page is hgweb's own.
"""

from __future__ import annotations

import time

# Long enough that 5% (25 ms) absorbs what a shared CI box adds when it is badly oversubscribed (scheduling delays
# of 10-20 ms per wake-up were seen at a load average of 19 on 2 cores); a measuring error (units, rounding to
# Locust's buckets, pacing counted as latency) is far bigger.
DELAY_MS = 500
CHANGESET_DELAY_MS = 2500
BODY = b"<html><body>delayed page</body></html>\n"


def delayed(environ, start_response):
    time.sleep(DELAY_MS / 1000)  # the injected server-side delay under test, not a wait for anything
    start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(BODY)))])
    return [BODY]


def slow_changesets(app):
    def middleware(environ, start_response):
        if "/rev/" in environ.get("PATH_INFO", ""):
            time.sleep(CHANGESET_DELAY_MS / 1000)
        return app(environ, start_response)

    return middleware
