"""The runs of a runs directory, read back from their summary.json: what `hgharness report history` draws and
where `--baseline last-passing` looks.

A target is known by its name in the summary (a targets.toml entry's name, else its URL), so the runs of one
named target stay together when its URL changes from one deployment to the next. Runs are ordered by their
start time (then their id). A directory without a readable summary.json is skipped and named in `problems`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from hgharness.errors import HarnessError


@dataclass
class RunRecord:
    """One run as history needs it."""

    run_id: str
    dir: Path
    target: str                 # the target's name (its URL when it has none)
    url: str
    site: str
    command: str
    started: str
    duration_s: float | None
    verdict: str
    build_id: str | None
    tests: dict = field(default_factory=dict)    # check id -> outcome
    actions: dict = field(default_factory=dict)  # action -> {p50_ms, p95_ms, count ...}
    capacity_rps: float | None = None            # the capacity stage's result, where it ran


def target_key(description: dict) -> str:
    return str(description.get("name") or description.get("url") or "?")


def _record(d: Path, s: dict) -> RunRecord:
    target = s.get("target") if isinstance(s.get("target"), dict) else {}
    tests = {}
    for t in s.get("tests") or []:
        if isinstance(t, dict) and t.get("id"):
            tests[str(t["id"])] = str(t.get("outcome"))
    capacity = None
    for st in s.get("stages") or []:
        cap = st.get("capacity") if isinstance(st, dict) else None
        if isinstance(cap, dict) and isinstance(cap.get("candidate"), dict):
            capacity = cap["candidate"].get("capacity_rps")
    actions = s.get("actions") if isinstance(s.get("actions"), dict) else {}
    build = s.get("build_id")
    return RunRecord(run_id=str(s.get("run_id") or d.name), dir=d, target=target_key(target),
                     url=str(target.get("url") or ""), site=str(target.get("site") or ""),
                     command=str(s.get("command") or ""), started=str(s.get("started") or ""),
                     duration_s=s.get("duration_s"), verdict=str(s.get("verdict") or "unknown"),
                     build_id=str(build) if build else None, tests=tests,
                     actions={k: v for k, v in actions.items() if isinstance(v, dict)},
                     capacity_rps=capacity if isinstance(capacity, (int, float)) else None)


def read_runs(runs_dir) -> tuple[list[RunRecord], list[str]]:
    """Every run of runs_dir, oldest first, and the directories that could not be read. HarnessError (exit 2)
    when runs_dir does not exist or holds no run."""
    root = Path(runs_dir)
    if not root.is_dir():
        raise HarnessError(f"runs directory {runs_dir} does not exist")
    runs, problems = [], []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        path = d / "summary.json"
        if not path.exists():
            continue
        try:
            s = json.loads(path.read_text(encoding="utf-8", errors="replace"))
            if not isinstance(s, dict):
                raise ValueError("not a JSON object")
            runs.append(_record(d, s))
        except (OSError, ValueError, TypeError, AttributeError) as e:
            problems.append(f"{d.name}/summary.json: {type(e).__name__}: {e}")
    if not runs:
        raise HarnessError(f"runs directory {runs_dir} holds no run (no */summary.json)")
    runs.sort(key=lambda r: (r.started, r.run_id))
    return runs, problems


def last_passing(runs: list[RunRecord], target: str) -> RunRecord | None:
    passed = [r for r in runs if r.target == target and r.verdict == "passed"]
    return passed[-1] if passed else None


def last_passing_url(runs_dir, target) -> str:
    """--baseline last-passing: the URL of the target's last passing run in runs_dir (HarnessError if none).

    The candidate is known by the same key as the runs (its name, else its URL). A last passing run served at
    the candidate's own URL is refused: that build is no longer there, and the run would compare the candidate
    with itself."""
    root = Path(runs_dir)
    key = target_key(target.describe())
    try:
        runs, _ = read_runs(root)
    except HarnessError as e:
        raise HarnessError(f"--baseline last-passing: {e}") from None
    run = last_passing(runs, key)
    if run is None:
        raise HarnessError(f"--baseline last-passing: no passing run of target {key} in {runs_dir}")
    if run.url.rstrip("/") == target.url.rstrip("/"):
        raise HarnessError(f"--baseline last-passing: the last passing run of {key} ({run.run_id}) was at "
                           f"{run.url}, the candidate's own URL: that build is no longer served there")
    return run.url
