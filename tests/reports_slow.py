"""A deliberately slower build of the target: every response takes 30% longer at the server.

Loaded inside gunicorn through EmbeddedHgweb(wrap="tests.reports_slow:slow"). The body is produced in full
(hgweb renders lazily while the body is iterated), then the request is held for 30% of the time it took: the
server-side work of every page costs 1.3 times as much, as a real regression would.
"""

import time

SLOWDOWN = 0.30


def slow(app):
    def wrapped(environ, start_response):
        t0 = time.perf_counter()
        result = app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close:
                close()
        time.sleep(SLOWDOWN * (time.perf_counter() - t0))  # the injected regression itself, not a wait
        return [body]

    return wrapped
