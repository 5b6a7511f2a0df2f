"""The headless stage of `hgharness run` (and `hgharness check`): the HTTP check suites in a child pytest."""

from __future__ import annotations

import os

from hgharness.session import StageContext, StageResult
from hgharness.suites.runner import run_pytest_stage

HEADLESS_PATHS = ["suites/headless", "suites/security"]


def stage_headless(ctx: StageContext) -> StageResult:
    """-n/--parallel sets the pytest-xdist workers; by default 2 against the embedded hgweb on a machine with two
    cores or more (its checks wait on the server half the time: 262 s serial, 205 s with two, measured side by
    side on a loaded 2-core machine), none against a deployed site (which may not welcome twice the checks)."""
    workers = ctx.args.parallel
    if workers in (None, "") and ctx.server is not None and ctx.target.site_name == "hgweb" and \
            (os.cpu_count() or 1) >= 2:
        workers = "2"
    result = run_pytest_stage("headless", HEADLESS_PATHS, ctx.target, ctx.run_dir, markers=ctx.args.markers,
                              workers=workers, progress=ctx.progress)
    result.extra["coverage"] = coverage_summary(ctx.target.site, ctx.progress)
    return result


def coverage_summary(site, progress=print) -> dict | None:
    """The coverage table of the target's site for the summary (`hgharness check --coverage` prints it); None, and
    a line, when it cannot be built (it never fails the run: it describes the checks, not the target)."""
    from hgharness.suites.support import coverage

    try:
        return coverage.build(site).to_json()
    except Exception as e:  # a declaration error is the harness's: say it, keep the run's verdict
        progress(f"[headless] coverage table not built: {type(e).__name__}: {e}")
        return None
