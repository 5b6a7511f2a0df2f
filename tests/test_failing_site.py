"""Issue 16 item 6: a reachable site that fails its front page (HTTP 500 everywhere, or 200 with an empty body) is
a target failure, exit 1 with one line naming what failed, for every command; an unreachable one stays exit 2."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import clean_env, run_cli

pytestmark = pytest.mark.integration


def answering(status: int, body: bytes):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture(params=[(500, b"Internal Server Error"), (200, b"")], ids=["500-everywhere", "empty-200"])
def failing_site(request):
    server = ThreadingHTTPServer(("127.0.0.1", 0), answering(*request.param))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", request.param[0]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("command", [("check",), ("load", "--duration", "5s"), ("traffic", "--ops", "3")],
                         ids=lambda c: c[0])
def test_a_site_failing_its_front_page_is_a_target_failure(failing_site, command, tmp_path):
    url, status = failing_site
    p = run_cli(*command, "--target", url, "--runs-dir", tmp_path, env=clean_env(), timeout=120)
    err = p.stderr.strip()
    assert p.returncode == 1, (p.returncode, p.stdout[-2000:], err)
    assert "Traceback" not in p.stdout + p.stderr
    assert len(err.splitlines()) == 1 and "target FAILED" in err and f"HTTP {status}" in err, err
