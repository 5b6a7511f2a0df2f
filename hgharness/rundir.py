"""One run directory per command: reports/runs/<id>/ holding summary.json, junit.xml and the raw results.

summary.json schema ("hgharness.run/1"; the full, versioned definition is reports/summary.schema.json, checked by
`hgharness report validate RUN_DIR`; raw latency samples go to samples/*.jsonl, see reports/samples.py):
  schema, harness_version, run_id, command, started, ended, duration_s,
  target        Target.describe() (no secrets), plus front/tls/warnings
  verdict       "passed" | "failed" | "error" | "unverified"   (exit code 0 | 1 | 2 | 3)
  exit_code
  stages        [{name, status: passed|failed|error|skipped|unverified, exit_code, counts{passed,failed,error,skipped},
                  duration_s, detail, files[]}]
  tests         [{id, stage, outcome, duration_s, message, artifacts[]}]
  actions       {action name: {count, failures, p50_ms, p95_ms, p99_ms, ...}}   (latency per action)
  slo           [{gate, status, observed, threshold}]
  traffic       {pushed, verified, lost, unverified, ...}
  warnings      [text]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets as _secrets
import xml.etree.ElementTree as ET
from pathlib import Path

from hgharness import __version__
from hgharness.secrets import redact

SCHEMA = "hgharness.run/1"
UNVERIFIED_EXIT = 3  # nothing failed, but an outcome could not be proven (traffic: pushes no lookup could check)
VERDICTS = {0: "passed", 1: "failed", 2: "error", UNVERIFIED_EXIT: "unverified"}


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def new_run_dir(runs_dir: str | os.PathLike = "reports/runs", run_id: str | None = None) -> Path:
    run_id = run_id or dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + _secrets.token_hex(2)
    path = Path(runs_dir) / run_id
    path.mkdir(parents=True, exist_ok=False)
    return path


def write_json(path: Path, data) -> None:
    text = redact(json.dumps(data, indent=2, sort_keys=False, default=str))
    path.write_text(text + "\n", encoding="utf-8")


def stage_status(exit_code: int, counts: dict) -> str:
    if exit_code == 0:
        return "passed" if counts.get("passed", 0) or not counts.get("skipped") else "skipped"
    if exit_code == 1:
        return "failed"
    return "error"


def overall_exit(stages: list[dict]) -> int:
    """2 if a stage could not run, else 1 if one failed, else 3 if one could not prove its outcome, else 0."""
    codes = [s["exit_code"] for s in stages if s.get("status") != "skipped"]
    if any(c not in (0, 1, UNVERIFIED_EXIT) for c in codes):
        return 2
    for code in (1, UNVERIFIED_EXIT):
        if code in codes:
            return code
    return 0


def merge_junit(run_dir: Path, parts: list[Path], out: Path | None = None) -> Path:
    """Merge the JUnit files of each stage into one <testsuites> document."""
    root = ET.Element("testsuites", name="hgharness")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for part in parts:
        if not part.exists():
            continue
        try:
            doc = ET.parse(part).getroot()
        except ET.ParseError:
            continue
        suites = [doc] if doc.tag == "testsuite" else list(doc.iter("testsuite"))
        for s in suites:
            root.append(s)
            for k in totals:
                totals[k] += int(s.get(k, 0) or 0)
    for k, v in totals.items():
        root.set(k, str(v))
    out = out or run_dir / "junit.xml"
    data = ET.tostring(root, encoding="unicode")
    out.write_text(redact('<?xml version="1.0" encoding="utf-8"?>\n' + data), encoding="utf-8")
    return out


def junit_suite(name: str, cases: list[dict]) -> ET.Element:
    """A <testsuite> for non-pytest results (gates, integrity): cases of {name, status, message, classname}."""
    suite = ET.Element("testsuite", name=name, tests=str(len(cases)))
    fails = errors = skipped = 0
    for c in cases:
        tc = ET.SubElement(suite, "testcase", classname=c.get("classname", name), name=c["name"],
                           time=f"{c.get('time', 0):.3f}")
        if c["status"] == "failed":
            fails += 1
            ET.SubElement(tc, "failure", message=c.get("message", "")).text = c.get("message", "")
        elif c["status"] == "error":
            errors += 1
            ET.SubElement(tc, "error", message=c.get("message", "")).text = c.get("message", "")
        elif c["status"] == "skipped":
            skipped += 1
            ET.SubElement(tc, "skipped", message=c.get("message", ""))
    suite.set("failures", str(fails))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    return suite


def write_junit_suite(path: Path, name: str, cases: list[dict]) -> Path:
    path.write_text(redact(ET.tostring(junit_suite(name, cases), encoding="unicode")), encoding="utf-8")
    return path


def base_summary(run_dir: Path, command: str, target_description: dict) -> dict:
    return {
        "schema": SCHEMA, "harness_version": __version__, "run_id": run_dir.name, "command": command,
        "started": now_iso(), "ended": None, "duration_s": None, "target": target_description,
        "verdict": None, "exit_code": None, "stages": [], "tests": [], "actions": {}, "slo": [],
        "traffic": None, "warnings": [],
    }
