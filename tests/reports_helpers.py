"""Helpers for the reports tests: record real latency samples from a real embedded hgweb.

`record_run` times real HTTP requests (round-robin over a few page kinds) and writes them with the harness's own
sample writer, so a recorded run directory is exactly what a Locust or traffic stage would leave.
Run as a script to re-record the committed sample runs in tests/data/reports/:

    .venv/bin/python -m tests.reports_helpers
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import requests

from hgharness.reports.samples import SampleWriter
from tests.conftest import hgweb, target_for

DATA = Path(__file__).with_name("data") / "reports"
PAGES = ("index", "log", "rev", "file")  # action names = the adapter's page kinds


def pages(target) -> dict[str, str]:
    repo = next(r for r in sorted(target.repos) if r.isalnum() and r != "hostile")  # plain pages, plain timings
    site = target.site
    return {"index": target.url_for(site.route("index")), "log": target.url_for(site.route("log", repo)),
            "rev": target.url_for(site.route("rev", repo, rev="tip")),
            "file": target.url_for(site.route("file", repo, rev="tip", path=""))}


def record_run(server, run_dir: Path, rounds: int, source: str = "recorder") -> Path:
    """`rounds` requests per page kind against `server`, timed end to end, into run_dir/samples/."""
    target = target_for(server)
    urls = pages(target)
    run_dir.mkdir(parents=True, exist_ok=True)
    with requests.Session() as http, SampleWriter(run_dir, source) as writer:
        for url in urls.values():  # warm up: the first request of a worker loads the repository
            http.get(url, timeout=30)
        for _ in range(rounds):
            for name, url in urls.items():
                t0 = time.perf_counter()
                resp = http.get(url, timeout=30)
                body = resp.content
                ms = (time.perf_counter() - t0) * 1000
                writer.add(name, ms, ok=resp.status_code == 200 and bool(body))
    summary = {"run_id": run_dir.name, "target": target.describe()}
    (run_dir / "recording.json").write_text(json.dumps(summary, indent=1) + "\n")
    return run_dir


def synthetic_run(rng, n: int, median_ms: float, slowdown: float = 1.0, drift_sd: float = 0.02,
                  load_sd: float = 0.15, phi: float = 0.8, sigma: float = 0.22) -> list[float]:
    """Latencies shaped like a real run, not like a textbook sample:

    lognormal spread (sigma), a machine load that drifts during the run (AR(1) with coefficient phi, so
    consecutive samples are correlated), a run-level offset (the machine is a little faster or slower today,
    drift_sd), and 2% stalls three times as long (GC, scheduler). The defaults match the quiet recorded runs in
    tests/data/reports (sd of log latency about 0.3, same-build medians within a few percent).
    """
    import math

    offset = rng.gauss(0, drift_sd)
    load = rng.gauss(0, load_sd)
    innov = load_sd * math.sqrt(1 - phi * phi)
    out = []
    for _ in range(n):
        load = phi * load + rng.gauss(0, innov)
        x = median_ms * slowdown * math.exp(offset + load + rng.gauss(0, sigma))
        if rng.random() < 0.02:
            x *= 3
        out.append(x)
    return out


def write_run(run_dir: Path, series: dict[str, list[float]], t0: float = 1.7e9) -> Path:
    """A run directory holding these latencies as samples (interleaved in time, as a real run does)."""
    from hgharness.reports.samples import write_samples

    for i, (action, values) in enumerate(series.items()):
        times = [t0 + k * 0.05 + i * 0.01 for k in range(len(values))]
        write_samples(run_dir, action, values, source="synthetic", t=times)
    return run_dir


def record_three(repos: Path, dest: Path, rounds: int) -> dict[str, Path]:
    """Two runs of the same build (a fresh server each) and one with the 30% slowdown injected."""
    runs = {}
    for name, wrap in (("same-a", None), ("same-b", None), ("slow30", "tests.reports_slow:slow")):
        with hgweb(repos, wrap=wrap) as server:
            runs[name] = record_run(server, dest / name, rounds)
    return runs


if __name__ == "__main__":
    import shutil
    import tempfile

    from hgharness.fixtures.sets import DEFAULT_SET, build_set

    with tempfile.TemporaryDirectory() as tmp:
        build_set(DEFAULT_SET, Path(tmp) / "repos")
        if DATA.exists():
            shutil.rmtree(DATA)
        for name, path in record_three(Path(tmp) / "repos", DATA, rounds=150).items():
            print(name, path)


# --- a report page as a person sees it: headless Chromium ---------------------------------------------------------

def assert_rendered(browser, charts: int, marks: str, shot: Path, max_height: int) -> None:
    """The page open in `browser` draws at least `charts` charts (svg.chart, each at least 300x100 and holding one
    of `marks`), logged no severe console error, and screenshots to a real PNG at `shot` (the page's whole
    height, up to max_height)."""
    d = browser.driver
    found = d.find_elements("css selector", "svg.chart")
    assert len(found) >= charts
    for chart in found:
        assert chart.size["width"] > 300 and chart.size["height"] > 100
        assert chart.find_elements("css selector", marks)
    assert_console_clean(browser)
    d.set_window_size(1280, min(d.execute_script("return document.documentElement.scrollHeight"), max_height))
    assert d.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20000


def assert_console_clean(browser) -> None:
    severe = [e for e in browser.console_entries() if e.get("level") == "SEVERE"]
    assert severe == []
