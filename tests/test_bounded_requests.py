"""Issue 16 items 2 and 3, at the level of one request: hgharness.http.session() bounds every request's whole
answer in time (request_deadline) and its body in size (max_response_mb), and stops sending to a host that let
GIVE_UP_AFTER requests pass their deadline. Against small hostile servers on loopback."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from hgharness import http
from hgharness.target import Target


class Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - http.server's name
        try:
            if self.path == "/trickle-body":
                self._head(200, chunked=True)
                while True:
                    self.wfile.write(b"1\r\nx\r\n")
                    self.wfile.flush()
                    time.sleep(0.5)  # the trickle under test
            elif self.path == "/trickle-head":
                for ch in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 10_000:
                    self.wfile.write(bytes([ch]))
                    self.wfile.flush()
                    time.sleep(0.5)  # the trickle under test
            elif self.path in ("/huge", "/huge-declared"):
                declared = self.path == "/huge-declared"
                self._head(200, chunked=not declared, length=2**31 if declared else None)
                block = b"x" * 65536
                for _ in range(2**31 // len(block)):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if not declared else block)
            elif self.path == "/redirect-huge":
                self._head(302, chunked=True, location="/small")
                block = b"x" * 65536
                for _ in range(2**31 // len(block)):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
            else:
                body = b"small answer"
                self._head(200, length=len(body))
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _head(self, status, chunked=False, length=None, location=None):
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def hostile():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def fresh_give_up_counts():
    http._deadlines_passed.clear()
    yield
    http._deadlines_passed.clear()


def _session(url, **kw):
    return http.session(Target(url=url + "/", **kw))


@pytest.mark.parametrize("path", ["/trickle-body", "/trickle-head"])
def test_a_trickled_answer_fails_at_the_deadline_not_at_a_read_timeout(hostile, path):
    s = _session(hostile, request_deadline=1.5)
    with pytest.raises(http.DeadlineExceeded, match="no whole answer within 1.5 s"):
        s.get(hostile + path, timeout=30)  # each read comes well within the 30 s read timeout


@pytest.mark.parametrize("path", ["/huge", "/huge-declared", "/redirect-huge"])
def test_a_huge_answer_is_refused_past_the_bound(hostile, path):
    s = _session(hostile, max_response_mb=2)
    with pytest.raises(http.AnswerTooLarge, match="2 MiB bound"):
        s.get(hostile + path, timeout=30)


def test_a_small_answer_and_a_streamed_one_are_untouched(hostile):
    s = _session(hostile, request_deadline=5, max_response_mb=1)
    assert s.get(hostile + "/small", timeout=10).content == b"small answer"
    with s.get(hostile + "/huge", timeout=10, stream=True) as r:  # the caller reads (and bounds) a stream
        assert len(r.raw.read(3 * 2**20)) == 3 * 2**20


def test_after_three_deadlines_the_host_gets_no_more_requests_but_the_probe_still_goes(hostile):
    s = _session(hostile, request_deadline=0.5)
    for _ in range(http.GIVE_UP_AFTER):
        with pytest.raises(http.DeadlineExceeded):
            s.get(hostile + "/trickle-body", timeout=30)
    with pytest.raises(http.GaveUp, match="not sent"):
        s.get(hostile + "/small", timeout=10)
    assert http.probe(Target(url=hostile + "/", request_deadline=0.5)).status_code == 200


def test_a_deadline_or_size_message_names_the_setting():
    t = Target(url="http://127.0.0.1:9/", request_deadline=7)
    assert "within 7 s (request_deadline)" in http.explain(t, http.DeadlineExceeded("x"))
    assert isinstance(http.DeadlineExceeded("x"), requests.exceptions.Timeout)
