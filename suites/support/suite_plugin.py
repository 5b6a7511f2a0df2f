"""Shared by suites/headless and suites/security conftests: the plan fixture, known site defects as expected
failures, marker discipline, and the count of checks printed at the end of the run."""

from __future__ import annotations

import pytest

from hgharness.suites.support.known_issues import KnownIssue, known_defect
from hgharness.suites.support.plan import get_plan

SAFETY_MARKERS = ("nondestructive", "destructive")
LAYER_MARKERS = ("headless", "security")


@pytest.fixture(scope="session")
def plan(pytestconfig, target):
    p = get_plan(pytestconfig)
    if p.error is not None:
        raise p.error
    return p


@pytest.fixture(scope="session")
def checked_repos(plan):
    """name -> local path of the repositories whose content is checked (the push repository left out)."""
    return {n: plan.paths[n] for n in plan.checked}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """A check stopped by a known defect of the site software is an expected failure naming it."""
    outcome = yield
    exc = outcome.excinfo
    if exc is not None and isinstance(exc[1], KnownIssue):
        try:
            known_defect(getattr(item.config, "_hgharness_target", None), str(exc[1]))
        except BaseException as e:  # pytest's XFailed, or Failed under known_issues = "fail"
            outcome.force_exception(e)


def check_markers(items) -> None:
    """Every check says whether it changes the target and which layer it belongs to."""
    bad = []
    for item in items:
        if not any(f"/suites/{d}/" in str(item.path) for d in LAYER_MARKERS):
            continue
        names = {m.name for m in item.iter_markers()}
        if len(names & set(SAFETY_MARKERS)) != 1 or not names & set(LAYER_MARKERS):
            bad.append(item.nodeid)
    if bad:
        raise pytest.UsageError("checks without exactly one of nondestructive/destructive and a headless or "
                                f"security marker: {', '.join(bad[:5])}")


def terminal_summary(terminalreporter, config) -> None:
    if getattr(config, "_hgharness_counted", False):
        return
    config._hgharness_counted = True
    stats = terminalreporter.stats
    n = {k: len([r for r in stats.get(k, []) if getattr(r, "when", "call") in ("call", "setup")])
         for k in ("passed", "failed", "error", "skipped", "xfailed")}
    ran = n["passed"] + n["failed"] + n["error"] + n["xfailed"]
    known = f", {n['xfailed']} known site issues" if n["xfailed"] else ""
    terminalreporter.write_line(f"hgharness: {ran} checks ran ({n['passed']} passed, {n['failed']} failed, "
                                f"{n['error']} errors{known}); {n['skipped']} skipped")
    _security_findings(terminalreporter, config)


def _security_findings(terminalreporter, config) -> None:
    """Header grades and raw/archive protections the security checks recorded: printed, and written to the
    run directory (security-headers.json) for the report."""
    import json
    import os
    from pathlib import Path

    grades, protections = [], set()
    for reports in terminalreporter.stats.values():
        for r in reports:
            if getattr(r, "when", None) != "call":
                continue  # every phase's report carries the item's properties
            for key, value in getattr(r, "user_properties", []):
                if key == "header_grade":
                    grades.append(value)
                elif key == "protection":
                    protections.update(value)
    if grades:
        warn = [g for g in grades if g["grade"] != "pass"]
        line = ", ".join(f"{g['row']}={g['grade']}" for g in sorted(grades, key=lambda g: g["row"]))
        terminalreporter.write_line(f"hgharness: security headers: {line}")
        for g in warn:
            terminalreporter.write_line(f"  {g['grade'].upper()} {g['row']}: {g['detail'][:300]}")
    if protections:
        kinds = sorted({p.split(": ", 1)[1] for p in protections if ": " in p})
        terminalreporter.write_line(f"hgharness: raw/archive responses protected by: {'; '.join(kinds)}")
    run_dir = os.environ.get("HGHARNESS_RUN_DIR")
    if run_dir and (grades or protections):
        Path(run_dir, "security-headers.json").write_text(json.dumps(
            {"headers": grades, "raw_and_archive_protection": sorted(protections)}, indent=1))
