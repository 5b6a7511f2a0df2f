"""The fleet stage of `hgharness run`: the nodes behind a balancer (the target's `backends`), each reached
directly, must serve the same thing. A node that differs from its peers, fails or is much slower fails the run,
named with what differs.

Every node is asked, with the target's credentials and TLS settings and every request bounded:
- the repositories it lists (hgweb's JSON index), and the tip of each (`?cmd=lookup&key=tip`, the wire protocol);
- its capabilities (`?cmd=capabilities` of the first repository) and its Server header (the version, where the
  server shows one);
- the headless suites' smoke subset (`-m "smoke and nondestructive"`: the index lists every repository, its pages
  show the fixture's tip, the wire protocol answers), run against each node directly, the nodes side by side;
- the bytes of a deterministic sample of pages: for the first SAMPLE_REPOS repositories (sorted), the repository
  page, the changeset page of tip, the file list at tip and up to RAW_FILES raw files at tip (the first by name
  in the majority's file list). A node's own URL (scheme, host and port) is blanked before comparing, since a
  page may legitimately name the node that served it.

Node against node, the majority wins: a node whose answer differs from the largest group's is named with the
difference ("repository 'tiny' tip 1a2b3c4d5e6f (others: 9f4fa016999c)", "/tiny/rev/tip answered 500 (others:
200)"); when no group is the largest, every node is named. A sample every node fails (a 5xx or no answer) names
them all. A node whose median response time is more than SLOW_RATIO times its peers' (the median of their
medians) and more than SLOW_MS slower is "much slower". The full run still goes through the public URL: this
stage only compares the nodes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import statistics
import time
from collections import Counter
from pathlib import Path

import requests

from hgharness.errors import HarnessError
from hgharness.http import explain, session
from hgharness.rundir import write_junit_suite
from hgharness.session import StageContext, StageResult

SAMPLE_REPOS = 4
RAW_FILES = 2
SLOW_RATIO, SLOW_MS = 3.0, 200.0
REQUEST_TIMEOUT = 30.0
# hgweb's raw file list: "-rw-r--r-- SIZE NAME" per file ("drwxr-xr-x NAME" per directory)
RAW_MANIFEST_FILE = re.compile(r"^-\S+ \d+ (.+)$", re.M)


@dataclasses.dataclass
class Answer:
    """One node's answer to one sample: what is compared (value) and how a message shows it (shown)."""

    status: int | None          # None: no answer at all (shown says why)
    value: str                  # compared between nodes
    shown: str                  # in a message
    ms: float | None = None     # response time
    body: bytes = b""           # kept for the next sample (file lists), not compared or stored


@dataclasses.dataclass
class Sample:
    key: str                    # "tip:REPO", "page:PATH", "capabilities", "server", "repos"
    kind: str
    label: str                  # how a message names it: "repository 'x' tip", "/x/rev/tip"
    answers: dict = dataclasses.field(default_factory=dict)  # node URL -> Answer


class Node:
    """One backend: its URL, a Target aimed at it (the public target's credentials and TLS) and a session."""

    def __init__(self, target, url: str):
        self.url = url
        self.target = dataclasses.replace(target, url=url, name=url, backends=[], common_tips=None)
        self.http = session(self.target, auth=True)
        self.own = re.compile(re.escape(url.rstrip("/")).encode() + rb"|" + re.escape(self.target.host).encode()
                              + rb":" + str(_port(url)).encode())

    def get(self, path: str, headers: dict | None = None) -> tuple[requests.Response | None, float, str]:
        """(response or None, milliseconds, why there was none)."""
        started = time.monotonic()
        try:
            r = self.http.get(self.target.url_for(path), timeout=REQUEST_TIMEOUT, headers=headers,
                              allow_redirects=False)
            return r, (time.monotonic() - started) * 1000, ""
        except requests.RequestException as e:
            return None, (time.monotonic() - started) * 1000, explain(self.target, e)

    def normalized(self, body: bytes) -> bytes:
        return self.own.sub(b"NODE", body)


def _port(url: str) -> int:
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def ask(node: Node, sample: Sample, path: str, read) -> Answer:
    """GET path from node; read(response body) -> (value, shown) for a 200 answer."""
    r, ms, why = node.get(path, headers=node.target.site.WIRE_HEADERS if "?cmd=" in path else None)
    if r is None:
        answer = Answer(None, f"no answer: {why}", f"no answer ({why})", ms)
    elif r.status_code != 200:
        answer = Answer(r.status_code, f"HTTP {r.status_code}", f"HTTP {r.status_code}", ms)
    else:
        body = node.normalized(r.content)
        value, shown = read(body)
        answer = Answer(200, value, shown, ms, body)
    sample.answers[node.url] = answer
    return answer


def _page(body: bytes) -> tuple[str, str]:
    d = _digest(body)
    return f"bytes {d}", f"{len(body)} bytes, sha256 {d}"


def _tip(body: bytes) -> tuple[str, str]:
    text = body.decode("ascii", "replace").strip()
    node = text.split()[-1] if text.startswith("1 ") else f"not a node: {text[:40]!r}"
    return node, node[:12]


def _caps(body: bytes) -> tuple[str, str]:
    caps = sorted(body.decode("ascii", "replace").split())
    return " ".join(caps), f"{len(caps)} capabilities"


def _repos(body: bytes) -> tuple[str, str]:
    try:
        names = sorted(e["name"].strip("/") for e in json.loads(body).get("entries", []))
    except (ValueError, AttributeError, KeyError, TypeError):
        return f"not JSON {_digest(body)}", "an index that is not hgweb JSON"
    return ",".join(names), ", ".join(names) or "no repository"


def collect(target, nodes: list[Node]) -> list[Sample]:
    """Ask every node for every sample (module docstring); the samples in the order messages list them."""
    site = target.site
    samples: list[Sample] = []

    def each(key, kind, label, path, read) -> Sample:
        sample = Sample(key, kind, label)
        for node in nodes:
            ask(node, sample, path, read)
        samples.append(sample)
        return sample

    index = each("repos", "repos", "the repository list", site.route("json_index"), _repos) \
        if "json_index" in site.ROUTES else None
    names = list(target.repos)
    if not names and index is not None:
        names = sorted({n for a in index.answers.values() if a.status == 200 for n in a.value.split(",") if n})
    if not names and index is None:  # a site without hgweb's JSON index: the first node's own list
        names = sorted(site.list_repos(nodes[0].target, nodes[0].http))
    if not names:
        raise HarnessError("the fleet stage found no repository to compare (set repos for the target)")
    for repo in names:
        each(f"tip:{repo}", "tip", f"repository '{repo}' tip", site.repo_path(repo) + "?cmd=lookup&key=tip", _tip)
    server = Sample("server", "server", "the Server header")
    for node in nodes:
        r, ms, why = node.get("")
        server.answers[node.url] = Answer(None, f"no answer: {why}", f"no answer ({why})", ms) if r is None else \
            Answer(r.status_code, r.headers.get("Server", "(none)"), repr(r.headers.get("Server", "(none)")), ms)
    samples.append(server)
    each("capabilities", "capabilities", "the capabilities", site.repo_path(names[0]) + "?cmd=capabilities", _caps)
    for repo in sorted(names)[:SAMPLE_REPOS]:
        for kind in ("summary", "rev"):
            path = site.route(kind, repo, rev="tip")
            each(f"page:{path}", "page", "/" + path, path, _page)
        if target.site_name != "hgweb":
            continue  # the raw file list is hgweb's
        listing = site.route("manifest", repo, rev="tip", path="") + "?style=raw"
        files = each(f"page:{listing}", "page", "/" + listing, listing, _page)
        reference = majority(files)
        body = next((a.body for a in files.answers.values() if a.value == reference), b"")
        for name in sorted(RAW_MANIFEST_FILE.findall(body.decode("utf-8", "replace")))[:RAW_FILES]:
            path = site.route("raw_file", repo, rev="tip", path=name)
            each(f"page:{path}", "page", "/" + path, path, _page)
    return samples


def majority(sample: Sample) -> str | None:
    """The value of the largest group of nodes; None when two groups tie for largest."""
    counts = Counter(a.value for a in sample.answers.values()).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return None
    return counts[0][0]


def _status(a: Answer) -> str:
    return str(a.status) if a.status else a.shown


def _unique(items) -> str:
    return ", ".join(dict.fromkeys(items)) or "none"


def differences(samples: list[Sample], nodes: list[str]) -> dict[str, list[str]]:
    """node URL -> what it serves differently from its peers, or fails (module docstring)."""
    out: dict[str, list[str]] = {n: [] for n in nodes}
    for s in samples:
        ref = majority(s)
        for url, a in s.answers.items():
            if ref is not None and a.value == ref:
                if a.status is None or a.status >= 500:  # the majority fails it: so does this node
                    out[url].append(f"{s.label} answered {_status(a)} (as most nodes)")
                continue
            # the majority's answer, or (no majority) every other answer
            peers = [b for u, b in s.answers.items() if u != url and b.value != a.value
                     and (ref is None or b.value == ref)]
            if a.status != 200 or any(b.status != 200 for b in peers):
                out[url].append(f"{s.label} answered {_status(a)} (others: {_unique(_status(b) for b in peers)})")
            elif s.kind == "capabilities":
                mine, theirs = set(a.value.split()), set(peers[0].value.split()) if peers else set()
                lacks, adds = sorted(theirs - mine), sorted(mine - theirs)
                out[url].append(f"{s.label} differ: lacks {_unique(lacks)}; adds {_unique(adds)}")
            elif s.kind == "page":
                out[url].append(f"{s.label} serves other bytes: {a.shown} (others: {_unique(b.shown for b in peers)})")
            else:
                out[url].append(f"{s.label} {a.shown} (others: {_unique(b.shown for b in peers)})")
    return out


def slower(samples: list[Sample], nodes: list[str]) -> tuple[dict[str, str], dict[str, float]]:
    """({node URL: "much slower: ..."} for a node whose median is over SLOW_RATIO times its peers' (the median of
    their medians) and SLOW_MS more, {node URL: its median in ms})."""
    medians = {}
    for url in nodes:
        times = [s.answers[url].ms for s in samples if url in s.answers and s.answers[url].ms is not None]
        medians[url] = statistics.median(times) if times else 0.0
    out = {}
    for url in nodes if len(nodes) > 1 else ():
        peers = statistics.median(m for u, m in medians.items() if u != url)
        if medians[url] > SLOW_RATIO * peers and medians[url] - peers > SLOW_MS:
            out[url] = f"much slower: median {medians[url]:.0f} ms per request (peers' median {peers:.0f} ms)"
    return out, medians


SMOKE_MARKERS = "smoke and nondestructive"


def smoke_each(nodes: list[Node], where: Path) -> dict[str, list[str]]:
    """The headless suites' smoke subset against every node directly, side by side (one child pytest each):
    node URL -> its failed checks ("smoke test_x failed: ..."), or why they could not run."""
    from concurrent.futures import ThreadPoolExecutor

    from hgharness.suites.runner import run_pytest_stage
    from hgharness.suites.stages import HEADLESS_PATHS

    def one(i_node):
        i, node = i_node
        return node.url, run_pytest_stage(f"node{i}", HEADLESS_PATHS, node.target, where, markers=SMOKE_MARKERS,
                                          progress=lambda m: None)

    out: dict[str, list[str]] = {}
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        for url, result in pool.map(one, enumerate(nodes, 1)):
            lines = [f"smoke {t['id'].rsplit('::', 1)[-1]} {t['outcome']}: {(t.get('message') or '').strip()[:200]}"
                     for t in result.tests if t["outcome"] in ("failed", "error")]
            if result.status == "error" and not lines:
                lines = [f"the smoke checks could not run: {result.detail}"]
            out[url] = lines
    return out


def stage_fleet(ctx: StageContext) -> StageResult:
    target = ctx.target
    backends = list(getattr(target, "backends", None) or [])
    if not backends:
        return StageResult.skipped("fleet", "the target lists no backends (backends in targets.toml, --backend "
                                   "URL, or --front haproxy --backends N)")
    started = time.monotonic()
    progress = lambda m: ctx.progress(f"[fleet] {m}")  # noqa: E731
    progress(f"comparing {len(backends)} backends: {', '.join(backends)}")
    try:
        nodes = [Node(target, url) for url in backends]
        samples = collect(target, nodes)
    except HarnessError as e:
        progress(f"error: {e}")
        return StageResult.broken("fleet", e, started)
    diffs = differences(samples, backends)
    slow, medians = slower(samples, backends)
    for url, line in slow.items():
        diffs[url].append(line)
    sub = Path(ctx.run_dir) / "fleet"
    sub.mkdir(exist_ok=True)
    progress(f"the smoke checks ({SMOKE_MARKERS}) on each backend directly")
    for url, lines in smoke_each(nodes, sub).items():
        diffs[url].extend(lines)
    tests, cases, nodes_out = [], [], []
    for i, url in enumerate(backends, 1):
        found = diffs[url]
        message = f"backend {url}: " + "; ".join(found) if found else ""
        outcome = "failed" if found else "passed"
        if found:
            progress(message)
        tests.append({"id": f"fleet::node{i} {url}", "stage": "fleet", "outcome": outcome,
                      "duration_s": 0, "message": message, "artifacts": ["fleet/fleet.json"]})
        cases.append({"name": f"node{i} {url}", "status": outcome, "message": message or
                      f"same as its peers in {len(samples)} samples", "classname": "fleet"})
        nodes_out.append({"url": url, "status": outcome, "differences": found,
                          "median_ms": round(medians[url], 1)})
    record = {"backends": backends, "nodes": nodes_out,
              "samples": [{"key": s.key, "label": s.label, "majority": majority(s),
                           "answers": {u: {"status": a.status, "value": a.value[:200], "ms": round(a.ms or 0, 1)}
                                       for u, a in s.answers.items()}} for s in samples]}
    (sub / "fleet.json").write_text(json.dumps(record, indent=2) + "\n")
    junit = write_junit_suite(sub / "junit-fleet.xml", "fleet", cases)
    failed = [n for n in nodes_out if n["status"] == "failed"]
    if failed:
        detail = "; ".join(f"backend {n['url']}: {n['differences'][0]}" for n in failed)
    else:
        detail = (f"{len(backends)} backends serve the same {len(samples)} samples (tips of "
                  f"{sum(1 for s in samples if s.kind == 'tip')} repositories, pages, raw files, capabilities); "
                  "medians " + "/".join(f"{n['median_ms']:.0f}" for n in nodes_out) + " ms")
    progress(("FAILED: " if failed else "passed: ") + detail)
    return StageResult("fleet", "failed" if failed else "passed", 1 if failed else 0,
                       {"passed": len(backends) - len(failed), "failed": len(failed)},
                       duration_s=time.monotonic() - started, detail=detail,
                       files=["fleet/fleet.json", "fleet/junit-fleet.xml"] +
                       [f"fleet/junit-node{i}.xml" for i in range(1, len(backends) + 1)], junit=str(junit), tests=tests,
                       extra={"fleet": {"backends": len(backends), "samples": len(samples), "nodes": nodes_out}})
