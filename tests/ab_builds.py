"""Candidate builds that are slower (or fail more) than the healthy baseline, for the A/B tests and bench/bench_ab.py.

Each is a WSGI middleware around the embedded hgweb (EmbeddedHgweb(wrap="tests.ab_builds:NAME")) injecting one
performance defect of the kind a weekly deploy brings, none of which an absolute ceiling on a busy machine sees:

    slower_pages        one page kind takes AB_SLOW_FACTOR (default 1.3) times as long as it did (the page's own
                        time, measured per request, whatever the machine does): the kind named by AB_SLOW_ROUTE, a
                        path fragment (default "/rev/", changeset pages)
    slower_by_ms        the same page kind (AB_SLOW_ROUTE) takes a fixed extra time, in milliseconds, read for
                        each request from the file AB_SLOW_MS_FILE (bench/bench_ab.py sets it to 20% of the page's
                        median as the client measured it: a page 20% slower as its users see it)
    slower_by_share     the same page kind (AB_SLOW_ROUTE) takes SHARE times its own time longer, SHARE read for each
                        request from the file AB_SLOW_SHARE_FILE; with AB_TIMES_DIR set, each such request's own
                        time (ms) is appended to AB_TIMES_DIR/times-<pid>.txt (bench/bench_ab.py --slow-as share:
                        SHARE = 0.2 x the page's client median / its own median in the A/A run before, so that the
                        extra time follows the machine's load as the page's time does)
    site_lock           every request holds one site-wide lock (an fcntl lock shared by the gunicorn workers)
                        for LOCK_MS (or AB_LOCK_MS): throughput is capped near 1000 / LOCK_MS requests per second
    site_lock_100       the same lock held 100 ms: capped near 10 requests/s, which binds even on a slow
                        2-core machine whose healthy build carries only about 20 requests/s
    slow_push           a push (the unbundle command) takes PUSH_DELAY_S longer
    some_502            every 50th request of each worker answers 502 Bad Gateway (2% of requests)
"""

from __future__ import annotations

import fcntl
import itertools
import os
import time
from pathlib import Path

SLOWER_FACTOR = 1.3
LOCK_MS = 40
PUSH_DELAY_S = 2.0
FAIL_EVERY = 50


def _timed(app, environ, start_response) -> tuple[list[bytes], float]:
    """The app's whole answer (body read out) and how long producing it took."""
    t0 = time.perf_counter()
    result = app(environ, start_response)
    try:
        body = list(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return body, time.perf_counter() - t0


def _chosen(fragment: str):
    """Whether a request is one the slower build slows: its path holds `fragment` and, when AB_SLOW_PORT is set (one
    server listening on two ports, bench/bench_ab.py --slowed-on shared), it came to that port."""
    port = os.environ.get("AB_SLOW_PORT")

    def chosen(environ) -> bool:
        return fragment in environ.get("PATH_INFO", "") and (not port or environ.get("SERVER_PORT") == port)

    return chosen


def _slower(app, fragment: str, factor: float):
    chosen = _chosen(fragment)

    def middleware(environ, start_response):
        if not chosen(environ):
            return app(environ, start_response)
        body, took = _timed(app, environ, start_response)
        time.sleep(took * (factor - 1))  # the injected slowness under test, not a wait for anything
        return body

    return middleware


def slower_pages(app):
    return _slower(app, os.environ.get("AB_SLOW_ROUTE", "/rev/"),
                   float(os.environ.get("AB_SLOW_FACTOR", SLOWER_FACTOR)))


def _number(path: Path) -> float:
    """The number a bench writes into `path` while the server runs (0 while it is being rewritten)."""
    try:
        return float(path.read_text() or 0)
    except (OSError, ValueError):
        return 0.0


def slower_by_ms(app):
    chosen = _chosen(os.environ.get("AB_SLOW_ROUTE", "/rev/"))
    path = Path(os.environ["AB_SLOW_MS_FILE"])

    def middleware(environ, start_response):
        if not chosen(environ):
            return app(environ, start_response)
        body, _took = _timed(app, environ, start_response)
        time.sleep(_number(path) / 1000)  # the injected slowness under test, not a wait for anything
        return body

    return middleware


def slower_by_share(app):
    chosen = _chosen(os.environ.get("AB_SLOW_ROUTE", "/rev/"))
    share_file = Path(os.environ["AB_SLOW_SHARE_FILE"])
    times = os.environ.get("AB_TIMES_DIR")

    def middleware(environ, start_response):
        if not chosen(environ):
            return app(environ, start_response)
        body, took = _timed(app, environ, start_response)
        share = _number(share_file)
        if times:
            with open(os.path.join(times, f"times-{os.getpid()}.txt"), "a") as f:
                f.write(f"{took * 1000:.3f}\n")
        time.sleep(took * share)  # the injected slowness under test, not a wait for anything
        return body

    return middleware


def _site_lock(app, hold_ms: float):
    # one lock file per server: beside its hgweb.config, in the server's own work directory
    path = Path(os.environ["HGHARNESS_HGWEB_CONFIG"]).with_name("site.lock")

    def middleware(environ, start_response):
        with open(path, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                time.sleep(hold_ms / 1000)  # the lock's hold time under test
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
        return app(environ, start_response)

    return middleware


def site_lock(app):
    return _site_lock(app, float(os.environ.get("AB_LOCK_MS", LOCK_MS)))


def site_lock_100(app):
    return _site_lock(app, 100)


def slow_push(app):
    def middleware(environ, start_response):
        # the push itself: not the first, unauthenticated try that Mercurial's client makes and the server refuses
        if "cmd=unbundle" in environ.get("QUERY_STRING", "") and environ.get("HTTP_AUTHORIZATION"):
            time.sleep(PUSH_DELAY_S)  # the slower push under test
        return app(environ, start_response)

    return middleware


def some_502(app):
    counter = itertools.count(1)

    def middleware(environ, start_response):
        if next(counter) % FAIL_EVERY == 0:
            body = b"<html><body><h1>502 Bad Gateway</h1></body></html>\n"
            start_response("502 Bad Gateway", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)

    return middleware


# --- mixes for paired runs (load/mixes.toml format) ----------------------------------------------------------

def one_class_mix(name: str, cls: str, weights: dict[str, int]) -> str:
    """A mix of one user class asking back to back (pace 0) for only the actions in `weights` (every other
    catalog action weighs 0)."""
    from hgharness.load.catalog import ACTIONS

    lines = ["[pace]", f"{cls} = 0", f"[mixes.{name}]", f"users = {{ {cls} = 1 }}", f"[mixes.{name}.actions.{cls}]"]
    lines += [f"{action} = {weights.get(action, 0)}" for action in ACTIONS]
    return "\n".join(lines) + "\n"
