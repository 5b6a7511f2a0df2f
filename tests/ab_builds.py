"""Candidate builds that are slower (or fail more) than the healthy baseline, for the A/B tests and bench/bench_ab.py.

Each is a WSGI middleware around the embedded hgweb (EmbeddedHgweb(wrap="tests.ab_builds:NAME")) injecting one
performance defect of the kind a weekly deploy brings, none of which an absolute ceiling on a busy machine sees:

    slower_changesets   changeset pages (/rev/) take CHANGESET_FACTOR (1.5) times as long as they did (the page's
                        own time, measured per request, whatever the machine does)
    slower_pages        the same for the page kind named by AB_SLOW_ROUTE (a path fragment such as
                        "/log", "/rev/") and the factor AB_SLOW_FACTOR (default 1.3)
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
CHANGESET_FACTOR = 1.5
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


def _slower(app, fragment: str, factor: float):
    def middleware(environ, start_response):
        if fragment not in environ.get("PATH_INFO", ""):
            return app(environ, start_response)
        body, took = _timed(app, environ, start_response)
        time.sleep(took * (factor - 1))  # the injected slowness under test, not a wait for anything
        return body

    return middleware


def slower_changesets(app):
    return _slower(app, "/rev/", CHANGESET_FACTOR)


def slower_pages(app):
    return _slower(app, os.environ.get("AB_SLOW_ROUTE", "/rev/"),
                   float(os.environ.get("AB_SLOW_FACTOR", SLOWER_FACTOR)))


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


# Readers only, on few page kinds, with no pause: a few users asking back to back keep the servers busy but not
# queueing (each pair's two requests then meet the same machine), and give enough pairs per action in a short run.
PAGES_MIX = one_class_mix("pages", "AnonymousBrowser", {"summary": 3, "log": 3, "changeset": 8, "file": 3,
                                                        "raw_file": 2})
