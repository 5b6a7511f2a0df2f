"""One page across the runs of a runs directory (`hgharness report history [RUNS_DIR]`).

Per target (its name, else its URL): every run with its verdict, duration and build (--build-id); the trend of
p50 and p95 per action, and of capacity where the capacity stage ran; checks flagged flaky; the last passing run
(the one `--baseline last-passing` uses). Flaky means proven on one build: the same check id passed in one run
and failed in another run of the same target and the same build id. Runs without a build id are never compared
for flakiness (two of them may be two builds). Drawn like the run report (report.css, inline SVG, no script).
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

from markupsafe import Markup

from hgharness.reports import svg
from hgharness.reports.cells import Link, Table, status
from hgharness.runhistory import RunRecord, last_passing, read_runs

TOP_ACTIONS = 8  # trend charts draw the busiest actions
FAILED = ("failed", "error")


def flaky_checks(runs: list[RunRecord]) -> list[dict]:
    """Checks that passed and failed on the same build of the same target: {target, build, id, passed, failed}."""
    groups: dict[tuple, dict] = {}
    for r in runs:
        if not r.build_id:
            continue
        for check, outcome in r.tests.items():
            g = groups.setdefault((r.target, r.build_id, check), {"passed": [], "failed": []})
            if outcome == "passed":
                g["passed"].append(r.run_id)
            elif outcome in FAILED:
                g["failed"].append(r.run_id)
    return [{"target": t, "build": b, "id": c, **g} for (t, b, c), g in sorted(groups.items())
            if g["passed"] and g["failed"]]


def history(runs_dir) -> dict:
    """Everything the page and history.json show, as plain data."""
    root = Path(runs_dir)
    runs, problems = read_runs(root)
    flaky = flaky_checks(runs)
    targets = []
    for key in dict.fromkeys(r.target for r in runs):
        mine = [r for r in runs if r.target == key]
        last = last_passing(runs, key)
        targets.append({"target": key, "runs": mine, "last_passing": last,
                        "flaky": [f for f in flaky if f["target"] == key]})
    return {"dir": root, "runs": runs, "targets": targets, "flaky": flaky, "problems": problems}


def as_json(h: dict) -> dict:
    return {"runs_dir": str(h["dir"]), "problems": h["problems"], "flaky": h["flaky"],
            "targets": [{"target": t["target"],
                         "last_passing": _run_json(t["last_passing"]) if t["last_passing"] else None,
                         "runs": [_run_json(r) for r in t["runs"]]} for t in h["targets"]]}


def _run_json(r: RunRecord) -> dict:
    return {"run_id": r.run_id, "url": r.url, "command": r.command, "started": r.started,
            "duration_s": r.duration_s, "verdict": r.verdict, "build_id": r.build_id,
            "capacity_rps": r.capacity_rps,
            "actions": {a: {k: v.get(k) for k in ("p50_ms", "p95_ms")} for a, v in r.actions.items()}}


def _link(r: RunRecord, out_dir: Path) -> Link:
    """The run's own report, relative to the history page (a plain label when it has none)."""
    index = r.dir / "index.html"
    if not index.exists():
        return Link(r.run_id)
    rel = Path(os.path.relpath(index.resolve(), out_dir.resolve())).as_posix()
    return Link(r.run_id, urllib.parse.quote(rel))


def _trend(runs: list[RunRecord], metric: str, title: str) -> str:
    """One line per action (the busiest), x = the run's position in the history (1 = oldest)."""
    weight: dict[str, float] = {}
    for r in runs:
        for a, v in r.actions.items():
            if isinstance(v.get(metric), (int, float)):
                weight[a] = weight.get(a, 0) + (v.get("count") or 1)
    top = sorted(weight, key=lambda a: (-weight[a], a))[:TOP_ACTIONS]
    series = [(a, [(i, r.actions[a][metric]) for i, r in enumerate(runs, 1)
                   if isinstance(r.actions.get(a, {}).get(metric), (int, float))]) for a in top]
    return svg.line_chart(series, title, "ms", x_label="run (1 = oldest)", shift_x=False, integer_x=True)


def _capacity(runs: list[RunRecord]) -> str:
    pts = [(i, r.capacity_rps) for i, r in enumerate(runs, 1) if r.capacity_rps is not None]
    if not pts:
        return ""
    return svg.line_chart([("capacity", pts)], "Capacity within the SLO per run", "requests/s",
                          x_label="run (1 = oldest)", shift_x=False, integer_x=True)


def render(h: dict, out: Path) -> str:
    from hgharness.reports.html import _page

    out_dir = out.parent
    sections = []
    for t in h["targets"]:
        flaky_ids = {f["id"] for f in t["flaky"]}
        rows = []
        for i, r in enumerate(t["runs"], 1):
            failed = [c for c, o in r.tests.items() if o in FAILED]
            flaky_here = sorted(c for c in failed if c in flaky_ids and r.build_id in
                                {f["build"] for f in t["flaky"] if f["id"] == c})
            rows.append([i, _link(r, out_dir), r.started, status(r.verdict), r.duration_s, r.build_id or "-",
                         r.command, len(failed),
                         status(f"flaky: {len(flaky_here)}", "warn") if flaky_here else ""])
        table = Table(["#", "run", "started", "verdict", "duration s", "build", "command", "failed checks",
                       "flaky"], rows, frozenset({0, 4, 7}))
        flaky = Table(["check", "build", "passed in", "failed in", ""],
                      [[f["id"], f["build"], ", ".join(f["passed"]), ", ".join(f["failed"]),
                        status("flaky", "warn")] for f in t["flaky"]], cls="flaky")
        charts = [Markup(c) for c in (_trend(t["runs"], "p50_ms", "p50 per action, run by run"),
                                      _trend(t["runs"], "p95_ms", "p95 per action, run by run"),
                                      _capacity(t["runs"])) if c]
        last = t["last_passing"]
        sections.append({"target": t["target"], "url": t["runs"][-1].url, "table": table, "flaky": flaky,
                         "flaky_count": len(t["flaky"]), "charts": charts,
                         "last_passing": _link(last, out_dir) if last else None,
                         "last_passing_meta": (f"{last.started}, build {last.build_id or '-'}, {last.url}"
                                               if last else "")})
    flaky_total = len(h["flaky"])
    return _page("history.html", f"hgharness history: {len(h['runs'])} runs, {flaky_total} flaky",
                 runs_dir=str(h["dir"]), count=len(h["runs"]), targets=sections, flaky_total=flaky_total,
                 problems=h["problems"], cls="v-unverified" if flaky_total else "v-passed")


def text_lines(h: dict) -> list[str]:
    out = []
    for t in h["targets"]:
        last = t["last_passing"]
        out.append(f"{t['target']}: {len(t['runs'])} runs, last {t['runs'][-1].verdict}, last passing "
                   f"{last.run_id if last else 'none'}, {len(t['flaky'])} flaky check(s)")
        out += [f"  FLAKY {f['id']} on build {f['build']}: passed in {', '.join(f['passed'])}; failed in "
                f"{', '.join(f['failed'])}" for f in t["flaky"]]
    return out
