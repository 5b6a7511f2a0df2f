"""Read what the stages leave in a run directory. Every reader tolerates a missing or damaged file.

  summary.json                   the run (hgharness/rundir.py, schema reports/summary.schema.json)
  locust_stats.csv, locust_stats_history.csv, locust_failures.csv
                                 Locust's own CSV files (`--csv <run_dir>/locust`, `--csv-full-history` for
                                 per-action rows in the history)
  traffic.json                   the Mercurial push/pull traffic run
  functional-timings*.jsonl      Navigation Timing per Selenium action: {action, ttfb_ms, dcl_ms, load_ms, t ...}
  samples/*.jsonl                raw latency samples (reports/samples.py)
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path


class Problems(list):
    """Files that were there but could not be read: shown in the report, never fatal."""

    def note(self, path: Path, err: Exception) -> None:
        self.append(f"{path.name}: {type(err).__name__}: {err}")


def read_json(path: Path, problems: Problems):
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError) as e:
        problems.note(path, e)
        return None


def number(text) -> float | None:
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def read_csv(path: Path, problems: Problems) -> list[dict]:
    if not path.exists():
        return []
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            return list(csv.DictReader(f))
    except (OSError, csv.Error) as e:
        problems.note(path, e)
        return []


def locust_stats(run_dir: Path, problems: Problems) -> list[dict]:
    """Rows of locust_stats.csv: {type, name, count, failures, rps, failures_per_s, p50 ... p99, avg, max}."""
    out = []
    for row in read_csv(run_dir / "locust_stats.csv", problems):
        out.append({"type": row.get("Type", ""), "name": _name(row),
                    "count": number(row.get("Request Count")), "failures": number(row.get("Failure Count")),
                    "rps": number(row.get("Requests/s")), "failures_per_s": number(row.get("Failures/s")),
                    "avg_ms": number(row.get("Average Response Time")),
                    "p50_ms": number(row.get("50%")), "p95_ms": number(row.get("95%")),
                    "p99_ms": number(row.get("99%")), "max_ms": number(row.get("Max Response Time"))})
    return out


def locust_history(run_dir: Path, problems: Problems) -> list[dict]:
    """Rows of locust_stats_history.csv with numbers: {t, users, name, rps, failures_per_s, p50, p95, p99}."""
    out = []
    for row in read_csv(run_dir / "locust_stats_history.csv", problems):
        t = number(row.get("Timestamp"))
        if t is None:
            continue
        out.append({"t": t, "users": number(row.get("User Count")), "name": _name(row),
                    "rps": number(row.get("Requests/s")), "failures_per_s": number(row.get("Failures/s")),
                    "p50": number(row.get("50%")), "p95": number(row.get("95%")), "p99": number(row.get("99%"))})
    return out


def _name(row: dict) -> str:
    """The row's action name; an A/B run's baseline rows (Type "baseline GET", "baseline hg") say so in it."""
    name = row.get("Name", "")
    return f"{name} (baseline)" if str(row.get("Type", "")).startswith("baseline ") else name


def locust_failures(run_dir: Path, problems: Problems) -> list[dict]:
    return [{"method": r.get("Method", ""), "name": r.get("Name", ""), "error": r.get("Error", ""),
             "occurrences": r.get("Occurrences", "")} for r in read_csv(run_dir / "locust_failures.csv", problems)]


def functional_timings(run_dir: Path, problems: Problems) -> list[dict]:
    """Every record of every functional-timings*.jsonl (records without an action name are skipped)."""
    out = []
    for path in sorted(run_dir.glob("functional-timings*.jsonl")):
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as e:
            problems.note(path, e)
            continue
        bad = 0
        for line in lines:
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if isinstance(rec, dict) and rec.get("action") is not None:
                out.append(rec)
            else:
                bad += 1
        if bad:
            problems.append(f"{path.name}: {bad} unreadable line(s) skipped")
    return out
