"""The main job: every stage of the harness against one target, into one run directory.

With no --target, the embedded hgweb target is started on loopback (fixture repositories, gunicorn) and
stopped at the end. Stages run in order; each writes its results into reports/runs/<id>/, which ends with
summary.json and junit.xml. Exit status: 0 the target passed, 1 it failed a check or gate, 2 the harness
could not run.
"""

from __future__ import annotations

from hgharness.errors import HarnessError
from hgharness.front import add_front_arguments
from hgharness.options import (
    add_baseline_argument,
    add_run_dir_arguments,
    add_slo_argument,
    add_target_arguments,
)
from hgharness.session import RunSession


def add_arguments(p):
    stages = p.get_default("layers").stages
    add_target_arguments(p)
    add_run_dir_arguments(p)
    add_baseline_argument(p)
    p.add_argument("--stages", default=",".join(stages),
                   help="comma-separated stages to run (default and all: "
                   + "; ".join(f"{name}: {s.description}" for name, s in stages.items()) + ")")
    p.add_argument("--set", dest="fixture_set", default=None, help="fixture set for the embedded target")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers of the embedded target (default 2)")
    p.add_argument("-n", "--parallel", default=None, help="pytest-xdist workers for the headless checks (default: 2 on the "
                   "embedded hgweb, none on Kallithea or a deployed site)")
    p.add_argument("--markers", "-m", default=None, help="pytest marker expression for the suites, e.g. "
                   "'smoke and nondestructive' for the production-safe subset")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the final summary")
    add_slo_argument(p, "SLO gates file of every stage: the load and capacity stages' gates, the Mercurial "
                     "operations' of traffic and ssh, and [ab] with --baseline (default load/slo.toml)")
    add_front_arguments(p)  # --front nginx, --tls, --prefix /hg for the embedded target


def selected_stages(args) -> list[str]:
    known = args.layers.stages
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = [s for s in stages if s not in known]
    if unknown:
        raise HarnessError(f"unknown stage(s) {', '.join(unknown)} (known: {', '.join(known)})")
    return stages


def check_parallel(value) -> None:
    """-n takes what pytest-xdist takes: a count or "auto" (checked here, so the cause is not lost in a log)."""
    if value not in (None, "", "auto", "logical") and not (str(value).isdigit()):
        raise HarnessError(f"-n/--parallel must be a number of workers or 'auto', not {value!r}")


def main(args) -> int:
    check_parallel(args.parallel)
    if args.slo:  # a missing or malformed gates file: one line naming it, before any target is started or asked
        args.layers.read_gates(args.slo)
    stages = selected_stages(args)
    progress = (lambda *a, **k: None) if args.quiet else (lambda msg: print(msg, flush=True))
    with RunSession(args, "run", args.layers, progress=progress) as session:
        session.open_run_dir()
        for name in stages:
            session.add(args.layers.stages[name].run(session.context()))
        return session.finish()
