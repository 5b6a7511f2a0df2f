"""A deliberately broken target for the report tests: every /log page is a 500 whose body is hostile HTML.

Loaded inside gunicorn through EmbeddedHgweb(wrap="tests.reports_broken:broken_log"). No exception is raised,
so the server's error log stays free of tracebacks: the target misbehaves, the harness does not.
"""

HOSTILE = b'<script>alert("report-xss")</script><img src=x onerror=alert(2)> log is broken'


def broken_log(app):
    def wrapped(environ, start_response):
        if environ.get("PATH_INFO", "").rstrip("/").endswith("/log"):
            start_response("500 Internal Server Error", [("Content-Type", "text/html"),
                                                         ("Content-Length", str(len(HOSTILE)))])
            return [HOSTILE]
        return app(environ, start_response)

    return wrapped
