"""Path traversal: `../`, encoded, double-encoded, backslash and NUL variants appended to every route that takes
a path never return a file from outside the repositories (system files, the server's configuration, a
repository's .hg internals), and never crash the server.

The suite cannot see the server's disk; it looks for what such files contain. HGHARNESS_TRAVERSAL_MARKERS
(comma-separated) adds markers, e.g. the content of a canary file planted next to the repositories.
"""

from __future__ import annotations

import os
import re

import pytest
import requests

from hgharness.procs import BASE_TIMEOUT
from hgharness.suites.support.table import from_plan

pytestmark = [pytest.mark.security, pytest.mark.nondestructive]

DEPTH = 8
PAYLOADS = {
    "dotdot": "../" * DEPTH + "etc/passwd",
    "encoded": "%2e%2e/" * DEPTH + "etc/passwd",
    "encoded-slash": "..%2f" * DEPTH + "etc%2fpasswd",
    "double-encoded": "%252e%252e/" * DEPTH + "etc/passwd",
    "double-encoded-slash": "..%252f" * DEPTH + "etc%252fpasswd",
    "nul": "..%00/" * DEPTH + "etc/passwd",
    "nul-suffix": "../" * DEPTH + "etc/passwd%00.txt",
    "backslash": "..%5c" * DEPTH + "etc%5cpasswd",
    "dots-slashes": "....//" * DEPTH + "etc/passwd",
    "hg-dir": ".hg/requires",
    "hg-dir-encoded": "%2ehg/hgrc",
    "sibling-hg": "../" + "{repo}/.hg/requires",
    "server-config": "../" * 2 + "hgweb.config",
}
ROUTE_KINDS = ("raw_file", "file", "annotate", "static", "summary", "index")

LEAK_MARKERS = [
    (re.compile(r"root:[x*!]?:0:0:"), "/etc/passwd"),
    (re.compile(r"^\[paths\]\s*$.*^\[web\]\s*$|^\[web\]\s*$.*^\[paths\]\s*$", re.M | re.S), "an hgweb config"),
    (re.compile(r"^(revlogv1|generaldelta|dotencode|fncache)\s*$\n^(store|fncache|dotencode|generaldelta|revlogv1)",
                re.M), "a repository's .hg/requires"),
    (re.compile(r"^[\w.-]+:[0-9a-f]{32}:[0-9a-f]{64}$", re.M), "a password file"),
]


def _markers():
    extra = [m for m in os.environ.get("HGHARNESS_TRAVERSAL_MARKERS", "").split(",") if m]
    return LEAK_MARKERS + [(re.compile(re.escape(m)), f"the marker {m[:12]}...") for m in extra]


def base_path(target, kind, repo, node):
    """The route prefix a payload is appended to (built by the site adapter)."""
    site = target.site
    if kind == "index":
        return site.route("index")
    if kind == "summary":
        return site.route("summary", repo)
    if kind == "static":
        return site.route("static", repo, path="")
    return site.route(kind, repo, rev=node, path="")


def send_raw(http, target, path: str):
    """GET a path exactly as written: requests would resolve the dot segments before sending."""
    req = requests.Request("GET", target.url_for("x")).prepare()
    req.url = target.url + path.lstrip("/")
    return http.send(req, timeout=2 * BASE_TIMEOUT, allow_redirects=False)


def traversal_rows(plan) -> list:
    if not plan.checked:
        return []
    kinds = [k for k in ROUTE_KINDS if k in ("index", "summary") or k in plan.target.site.ROUTES]
    return [pytest.param((k, p), id=f"{k}-{p}") for k in kinds for p in PAYLOADS]


@from_plan("traversal", traversal_rows)
def test_traversal_does_not_leak(target, http, plan, traversal):
    kind, payload_name = traversal
    repo_name = plan.checked[0]
    repo = plan.repo(repo_name)
    known = [i for i in target.site.KNOWN_ISSUES if kind in i["kinds"]
             and payload_name in i.get("payloads", ())]
    if known:
        # probing would only reproduce a known crash of the site software (and fill its error log)
        pytest.skip(f"known {target.site_name} issue {known[0]['id']}: {known[0]['why']}")
    payload = PAYLOADS[payload_name].replace("{repo}", repo_name)
    path = base_path(target, kind, repo_name, repo.hex(repo.revs_desc[0])) + payload
    r = send_raw(http, target, path)
    body = r.content.decode("utf-8", "replace")
    leaks = [what for rx, what in _markers() if rx.search(body)]
    assert not leaks, f"/{path}: HTTP {r.status_code} returns {', '.join(leaks)}"
    assert r.status_code < 500, f"/{path}: HTTP {r.status_code} (the server failed on a traversal attempt)"
