"""The headless stage of `hgharness run` (and `hgharness check`): the HTTP check suites in a child pytest."""

from __future__ import annotations

from hgharness.session import StageContext, StageResult
from hgharness.suites.runner import run_pytest_stage

HEADLESS_PATHS = ["suites/headless", "suites/security"]


def stage_headless(ctx: StageContext) -> StageResult:
    return run_pytest_stage("headless", HEADLESS_PATHS, ctx.target, ctx.run_dir, markers=ctx.args.markers,
                            workers=ctx.args.parallel, progress=ctx.progress)
