"""The "functional" stage of `hgharness run` (and the `hgharness functional` command): the browser flows in a
child pytest, with one browser per pytest-xdist worker, and their page timings summed up per action.

No browser to be had (Chromium or chromedriver missing, remote WebDriver unreachable) is a harness error found
before any test starts: one line, exit 2.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from hgharness.errors import HarnessError
from hgharness.session import StageContext, StageResult
from hgharness.stats import quantile
from hgharness.suites.runner import run_pytest_stage

PATHS = ["suites/functional"]
DEFAULT_WORKERS = 2
ACTION_PREFIX = "browser."


def run_functional(target, run_dir: Path, markers: str | None = None, workers=DEFAULT_WORKERS,
                   remote: str | None = None, extra_args: list[str] | None = None, progress=print,
                   name: str = "functional") -> StageResult:
    from hgharness.browser import BrowserConfig, preflight

    started = time.monotonic()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        config = BrowserConfig.from_env(remote=remote)
        browser = preflight(config)
    except HarnessError as e:
        progress(f"[{name}] error: {e}")
        stage = StageResult.broken(name, e, started)
        stage.counts["error"] = 0  # no check ran: the browser was missing
        return stage
    progress(f"[{name}] browser: {browser}")
    env = {"HGHARNESS_SELENIUM_REMOTE": config.remote} if config.remote else {}
    if workers not in (None, 0, "0", 1, "1"):  # flows that change the site's state stay on one worker
        extra_args = ["--dist", "loadgroup", *(extra_args or [])]
    stage = run_pytest_stage(name, PATHS, target, run_dir, markers=markers, workers=workers,
                             extra_args=extra_args, extra_env=env, progress=progress)
    stage.actions = aggregate_timings(run_dir)
    stage.files += sorted(p.name for p in run_dir.glob("functional-timings-*.jsonl"))
    return stage


def stage_functional(ctx: StageContext) -> StageResult:
    """The functional stage of `hgharness run`: the flows with -n 2 unless -n/--parallel says otherwise."""
    workers = ctx.args.parallel if ctx.args.parallel not in (None, "") else DEFAULT_WORKERS
    return run_functional(ctx.target, ctx.run_dir, markers=ctx.args.markers, workers=workers,
                          remote=getattr(ctx.args, "selenium_remote", None), progress=ctx.progress)


def read_timings(run_dir: Path) -> list[dict]:
    out = []
    for path in sorted(Path(run_dir).glob("functional-timings-*.jsonl")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a worker killed mid-line leaves half a record; the rest still counts
            if isinstance(rec, dict) and rec.get("action"):
                out.append(rec)
    return out


def aggregate_timings(run_dir: Path) -> dict:
    """{"browser.<action>": {count, failures, p50_ms, p95_ms, p99_ms, max_ms (page load), ttfb_p50_ms ...}}."""
    by_action: dict[str, list[dict]] = {}
    for rec in read_timings(run_dir):
        by_action.setdefault(rec["action"], []).append(rec)
    out = {}
    for action, recs in sorted(by_action.items()):
        stats = {"source": "browser", "count": len(recs),
                 "failures": sum(1 for r in recs if (r.get("status") or 0) >= 400)}
        for metric, prefix in (("load_ms", ""), ("ttfb_ms", "ttfb_"), ("dcl_ms", "dcl_")):
            vals = sorted(float(r[metric]) for r in recs if isinstance(r.get(metric), (int, float)))
            if not vals:
                continue
            for q in (50, 95, 99):
                stats[f"{prefix}p{q}_ms"] = round(quantile(vals, q / 100, presorted=True), 2)
            if not prefix:
                stats["mean_ms"] = round(sum(vals) / len(vals), 2)
                stats["max_ms"] = round(vals[-1], 2)
        out[ACTION_PREFIX + action] = stats
    return out
