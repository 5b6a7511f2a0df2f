"""The main job: every stage of the harness against one target, into one run directory.

With no --target, the embedded hgweb target is started on loopback (fixture repositories, gunicorn) and
stopped at the end. Stages run in order; each writes its results into reports/runs/<id>/, which ends with
summary.json and junit.xml. Exit status: 0 the target passed, 1 it failed a check or gate, 2 the harness
could not run.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from hgharness.cli import add_run_dir_arguments, add_target_arguments
from hgharness.errors import HarnessError

# stage name -> (callable path, one-line description). Each callable: (ctx) -> stage dict (see reports/rundir).
STAGES = {
    "headless": ("hgharness.commands.run:stage_headless", "headless HTTP checks"),
    "functional": ("hgharness.suites.functional.stage:stage_functional", "browser flows in headless Chromium (or a Grid), -n 2"),
    "traffic": ("hgharness.fixtures.traffic_cli:stage_traffic", "concurrent clone/pull/push, then no pushed changeset lost"),
    "load": ("hgharness.load.cli:stage_load", "a short mixed Locust load run judged by the default SLO gates"),
}
DEFAULT_STAGES = list(STAGES)


def add_arguments(p):
    add_target_arguments(p)
    add_run_dir_arguments(p)
    p.add_argument("--stages", default=",".join(DEFAULT_STAGES),
                   help=f"comma-separated stages to run (default and all: {','.join(STAGES)})")
    p.add_argument("--set", dest="fixture_set", default=None, help="fixture set for the embedded target")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers of the embedded target (default 2)")
    p.add_argument("-n", "--parallel", default=None, help="pytest-xdist workers for the suites (default: none)")
    p.add_argument("--markers", "-m", default=None, help="pytest marker expression for the suites, e.g. "
                   "'smoke and nondestructive' for the production-safe subset")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the final summary")
    from hgharness.front import add_front_arguments

    add_front_arguments(p)  # --front nginx, --tls, --prefix /hg for the embedded target


class Context:
    """What a stage gets: the target, the run directory, the arguments and a progress printer."""

    def __init__(self, target, run_dir: Path, args, progress, server=None):
        self.target, self.run_dir, self.args, self.progress, self.server = target, run_dir, args, progress, server


def stage_headless(ctx: Context) -> dict:
    from hgharness.suites.runner import run_pytest_stage

    return run_pytest_stage("headless", ["suites/headless", "suites/security"], ctx.target, ctx.run_dir, markers=ctx.args.markers,
                            workers=ctx.args.parallel, progress=ctx.progress)


def _load(path: str):
    import importlib

    module, func = path.split(":")
    return getattr(importlib.import_module(module), func)


def main(args) -> int:
    from hgharness.options import target_from_namespace
    from hgharness.reports.rundir import base_summary, merge_junit, new_run_dir, now_iso, overall_exit, write_json

    progress = (lambda *a, **k: None) if args.quiet else (lambda msg: print(msg, flush=True))
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise HarnessError(f"unknown stage(s) {', '.join(unknown)} (known: {', '.join(STAGES)})")
    embedded = not (args.target or os.environ.get("HGHARNESS_TARGET"))
    from hgharness.front import check_front_arguments, target_options

    check_front_arguments(args, embedded)
    server = None
    workdir = None
    started = time.monotonic()
    try:
        if embedded:
            import tempfile

            from hgharness.commands.serve import start_embedded

            workdir = Path(tempfile.mkdtemp(prefix="hgharness-run-"))  # repos, server state, CA: removed at the end
            server, names, repos_dir = start_embedded(args, progress=progress, workdir=workdir)
            target = target_from_namespace(args, target=server.url, username=server.username,
                                           fixture_dir=str(repos_dir), repos=names,
                                           **target_options(args, server))  # CA, --insecure, front
            target.password = server.password
            target.api_key = getattr(server, "api_key", None)  # Kallithea: the admin's key, for the API checks
            target.embedded = True
            progress(f"embedded {target.site_name} target at {target.url} ({len(names)} repositories)")
        else:
            target = target_from_namespace(args)
            from hgharness.http import probe

            probe(target)
        run_dir = new_run_dir(args.runs_dir, args.run_id)
        progress(f"run directory {run_dir}")
        summary = base_summary(run_dir, "run", target.describe())
        if target.insecure:
            summary["warnings"].append("TLS verification disabled (--insecure): the certificate was not checked")
            print("hgharness run: WARNING: TLS certificate verification is disabled (--insecure); "
                  "this run does not prove the site's certificate is valid", file=sys.stderr, flush=True)
        ctx = Context(target, run_dir, args, progress, server)
        for name in stages:
            stage = _load(STAGES[name][0])(ctx)
            summary["tests"] += stage.pop("tests", [])
            for key in ("actions", "slo", "traffic"):
                if key in stage:
                    value = stage.pop(key)
                    if isinstance(summary[key], dict) and isinstance(value, dict):
                        summary[key].update(value)
                    elif isinstance(summary[key], list):
                        summary[key] += value
                    else:
                        summary[key] = value
            summary["stages"].append(stage)
        if server is not None:
            tracebacks = server.tracebacks()
            if tracebacks:
                summary["stages"].append({"name": "server-log", "status": "failed", "exit_code": 1,
                                          "counts": {"failed": 1}, "detail": f"{len(tracebacks)} traceback(s) in "
                                          "the server error log", "duration_s": 0})
        code = overall_exit(summary["stages"])
        ran = sum(s.get("counts", {}).get(k, 0) for s in summary["stages"] for k in ("passed", "failed", "error"))
        if code == 0 and ran == 0:
            code = 2
            summary["warnings"].append("no check ran")
        summary.update(ended=now_iso(), duration_s=round(time.monotonic() - started, 3), exit_code=code,
                       verdict={0: "passed", 1: "failed", 2: "error"}[code])
        if server is not None:
            _keep_server_logs(server, run_dir)
        merge_junit(run_dir, [Path(s["junit"]) for s in summary["stages"] if s.get("junit")])
        write_json(run_dir / "summary.json", summary)
        _build_report(run_dir, progress)
        _print_summary(summary, run_dir)
        return code
    finally:
        if server is not None:
            server.stop()
        if workdir is not None:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)


def _keep_server_logs(server, run_dir: Path) -> None:
    from hgharness.secrets import redact

    logs = run_dir / "server"
    logs.mkdir(exist_ok=True)
    for p in (server.log_files() if hasattr(server, "log_files") else (server.error_log, server.access_log)):
        if p.exists():
            (logs / p.name).write_text(redact(p.read_text(errors="replace")))


def _build_report(run_dir: Path, progress) -> None:
    try:
        from hgharness.reports.html import build_report
    except ImportError:
        return
    build_report(run_dir)
    progress(f"report {run_dir / 'index.html'}")


def _print_summary(summary: dict, run_dir: Path) -> None:
    print(f"\nhgharness run {summary['run_id']}: target {summary['target']['url']} "
          f"({summary['target']['site']}) {summary['verdict'].upper()}")
    for s in summary["stages"]:
        c = s.get("counts", {})
        line = (f"  {s['name']:<12} {s['status']:<8} {c.get('passed', 0)} passed, {c.get('failed', 0)} failed, "
                f"{c.get('error', 0)} errors, {c.get('skipped', 0)} skipped")
        if s.get("detail"):
            line += f"  ({s['detail']})"
        print(line)
    for t in summary["tests"]:
        if t["outcome"] in ("failed", "error") and not t.get("harness_error"):
            print(f"  FAILED {t['id']}: {t['message'][:200]}")
    for w in summary["warnings"]:
        print(f"  WARNING: {w}")
    print(f"  run directory: {run_dir}  (summary.json, junit.xml)")
    sys.stdout.flush()
