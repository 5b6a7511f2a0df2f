"""Run a Locust load profile against a target and judge it by SLO gates (load/slo.toml).

A mix of simulated users (load/mixes.toml: browse-heavy, push-storm, ci-polling, mixed) requests only pages
that exist in the target's fixture repositories, following a bounded shape (constant, ramp, step, spike, soak).
At the end every gate (per action and aggregate: p50/p95/p99, error rate, achieved vs target rate) is one
JUnit testcase; exit 1 when any is breached. Without --target the embedded hgweb target is started on loopback.
A target whose allow_load is false (any non-loopback target, unless targets.toml or --allow-load says
otherwise) is refused before anything is sent.

    hgharness load --mix mixed --shape ramp --users 20 --spawn-rate 5 --duration 2m
    hgharness load -t staging --allow-load --mix ci-polling --workers 2 --duration 10m
    # workers on other hosts: on the master host
    hgharness load -t URL --remote-workers 2 --master-bind-host 0.0.0.0 --master-port 5557 ...
    # and on each worker host (same target options; the fixture repos are cloned when not local)
    hgharness load -t URL --worker --master-host MASTER --master-port 5557
    # a mix derived from the site's own access logs (classes, paces, hot repositories, its day), then run
    hgharness load derive /var/log/nginx/access.log* -o mymix.toml --explain
    hgharness load --mix-file mymix.toml --shape daily --duration 10m --users 40
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from hgharness.errors import HarnessError
from hgharness.front import add_front_arguments
from hgharness.http import probe
from hgharness.load import derive, mixes, shapes
from hgharness.load.runner import DEFAULT_MASTER_PORT, LoadSpec, run_load, run_worker
from hgharness.options import (
    add_baseline_argument,
    add_run_dir_arguments,
    add_slo_argument,
    add_target_arguments,
    target_from_namespace,
)
from hgharness.session import RunSession, StageContext, StageResult, is_embedded

STAGE_DEFAULTS = {"mix": "mixed", "shape": "constant", "users": 8, "spawn_rate": 4.0, "duration_s": 25}
# with --baseline every task runs on both targets, and an action is judged from 16 pairs: longer, or the mix's
# commoner pages alone would be compared (about 4 tasks/s: some 350 pairs over the actions)
AB_STAGE_DURATION_S = 90
# the run's capacity step: 1, 2, 4 readers asking back to back, 6 s a level (about 25 s with Locust's start)
CAPACITY_DEFAULTS = {"mix": "browse-heavy", "shape": "capacity", "users": 4, "spawn_rate": 4.0,
                     "duration_s": 3 * shapes.CAPACITY_MIN_STEP_S}


def add_arguments(p):
    add_target_arguments(p)
    add_run_dir_arguments(p)
    add_baseline_argument(p)
    g = p.add_argument_group("load profile")
    g.add_argument("--mix", default=None, help="user mix from the mixes file (default mixed; with --mix-file: "
                   "the one mix it holds)")
    g.add_argument("--mix-file", help="a mix file written by `hgharness load derive`: run the mix it holds")
    g.add_argument("--shape", default="constant", choices=shapes.SHAPES, help="load shape (default constant)")
    g.add_argument("--users", "-u", type=int, default=10, help=f"peak simulated users (default 10, at most "
                   f"{shapes.MAX_USERS})")
    g.add_argument("--spawn-rate", "-r", type=float, default=2.0, help="users started per second (default 2)")
    g.add_argument("--duration", "-d", default=None, help="run time: 90, 90s, 5m, 1h (default 60s; soak 1h; "
                   f"at most {shapes.MAX_DURATION_S // 3600}h)")
    add_slo_argument(g)
    g.add_argument("--mixes", help="mixes file (default load/mixes.toml)")
    d = p.add_argument_group("distributed")
    d.add_argument("--workers", type=int, default=0, help="Locust worker processes on this machine (default 0: "
                   "one process)")
    d.add_argument("--remote-workers", type=int, default=0, help="also wait for this many workers from other hosts")
    d.add_argument("--master-bind-host", help="interface the master listens on (default 127.0.0.1; with "
                   "--remote-workers: all)")
    d.add_argument("--master-port", type=int, default=0, help=f"master port (default: a free one; with "
                   f"--remote-workers {DEFAULT_MASTER_PORT})")
    d.add_argument("--workers-wait", type=int, default=60, help="seconds to wait for workers to join (default 60)")
    d.add_argument("--worker", action="store_true", help="run as a worker of a master on another host")
    d.add_argument("--master-host", help="with --worker: the master's host name or address")
    e = p.add_argument_group("embedded target (when no --target)")
    e.add_argument("--set", dest="fixture_set", default=None, help="fixture set to serve")
    e.add_argument("--repos-dir", help="serve these repositories instead of a fixture set")
    e.add_argument("--server-workers", type=int, default=4, help="gunicorn workers (default 4)")
    e.add_argument("--server-access-log", dest="access_log", help="write the embedded hgweb's access log, in "
                   "gunicorn's default format, to this file (`hgharness load derive` reads it back)")
    add_front_arguments(p)  # --front nginx, --tls, --prefix /hg, as for `hgharness run`
    sub = p.add_subparsers(dest="load_command", metavar="derive", required=False,
                           title="derive a mix from access logs (hgharness load derive --help)")
    d = sub.add_parser("derive", help="learn a mix (classes, paces, repositories, the day) from access logs",
                       description=(derive.__doc__ or "").strip())
    d.formatter_class = p.formatter_class
    derive.add_arguments(d)


def spec_from_args(args) -> LoadSpec:
    duration = shapes.parse_duration(args.duration) if args.duration else shapes.default_duration(args.shape)
    mix, mixes_path = args.mix or mixes.DEFAULT_MIX, args.mixes
    if getattr(args, "mix_file", None):
        if args.mixes:
            raise HarnessError("--mix-file and --mixes both name a mixes file: give one")
        mixes_path = args.mix_file
        mix = mixes.mix_in_file(mixes_path, args.mix)
    return LoadSpec(mix=mix, shape=args.shape, users=args.users, spawn_rate=args.spawn_rate,
                    duration_s=duration, workers=args.workers, remote_workers=args.remote_workers,
                    master_bind_host=args.master_bind_host, master_port=args.master_port,
                    workers_wait_s=args.workers_wait, slo_path=args.slo, mixes_path=mixes_path)


def main(args) -> int:
    if getattr(args, "load_command", None) == "derive":
        return derive.main(args)
    if not is_embedded(args):  # before anything else: no traffic, no process for a target that may not take load
        target_from_namespace(args).require_load_allowed()
    spec = spec_from_args(args)
    if args.worker:
        return _worker(args, spec)
    mix = spec.validate()
    if mix.get("transport") == "ssh" and "Developer" in mix["users"] and getattr(args, "baseline", None):
        raise HarnessError(f"mix {mix['name']!r} speaks SSH, which is not compared against a --baseline in this "
                           "build")  # before any server starts
    # --workers here means Locust workers; the embedded server takes its own count
    overrides = {"workers": args.server_workers, "port": 0, "user": "hgharness", "password_file": None}
    with RunSession(args, "load", args.layers, server_overrides=overrides, load_traffic=True) as session:
        session.open_run_dir()
        stage = session.add(run_load(session.target, session.run_dir, spec,
                                     progress=lambda m: print(m, flush=True), baseline=session.baseline,
                                     server=session.server, crossover=session.crossover()))
        return session.finish(printer=lambda summary, run_dir: print_report(summary, stage, run_dir))


def _worker(args, spec) -> int:
    if is_embedded(args):
        raise HarnessError("--worker needs the target the master loads (--target or HGHARNESS_TARGET)")
    if not args.master_host:
        raise HarnessError("--worker needs --master-host (the host running `hgharness load --remote-workers N`)")
    target = target_from_namespace(args)
    probe(target)
    workdir = Path(tempfile.mkdtemp(prefix="hgharness-load-worker-"))
    try:
        return run_worker(target, args.master_host, args.master_port or DEFAULT_MASTER_PORT, workdir,
                          timeout_s=spec.duration_s + args.workers_wait + 600)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def print_report(summary: dict, stage: dict, run_dir: Path) -> None:
    print(f"\n{'action':<16} {'requests':>8} {'failed':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>7}")
    for name, a in sorted(summary["actions"].items()):
        print(f"{name:<16} {a['count']:>8} {a['failures']:>7} {_ms(a.get('p50_ms'))} {_ms(a.get('p95_ms'))} "
              f"{_ms(a.get('p99_ms'))} {a.get('rps') or 0:>7.2f}")
    ab = next((st.get("ab") for st in summary["stages"] if st["name"] == "load" and st.get("ab")), None)
    if ab:
        print_ab(ab)
    for g in summary["slo"]:
        if g["status"] == "failed":
            print(f"  BREACHED {g['gate']}: {g['message']}")
    print_failures(run_dir)
    rate = next((g for g in summary["slo"] if g["gate"] == "aggregate.rate_ratio"), None)
    if rate and rate["status"] != "failed":
        print(f"  {rate['message']}")
    for w in summary["warnings"]:
        print(f"  WARNING: {w}")
    for other in summary["stages"]:
        if other["name"] != "load" and other["status"] == "failed":
            print(f"hgharness load: FAILED: {other['detail']}")
    print(f"hgharness load {summary['verdict'].upper()}: {stage.detail}")
    print(f"  run directory: {run_dir}  (index.html, slo.json, junit.xml, locust.html, locust_stats.csv)")


def print_failures(run_dir: Path, most: int = 5) -> None:
    """The commonest failure reasons Locust recorded (locust_failures.csv), one line each."""
    import csv

    try:
        with open(run_dir / "locust_failures.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, csv.Error):
        return
    rows.sort(key=lambda r: -int(r.get("Occurrences") or 0))
    for r in rows[:most]:
        print(f"  failure x{r.get('Occurrences')}: {r.get('Method')} {r.get('Name')}: {' '.join((r.get('Error') or '').split())[:200]}")
    if len(rows) > most:
        print(f"  ... and {len(rows) - most} more failure kinds (locust_failures.csv)")


def print_ab(ab: dict) -> None:
    """The A/B table: per action, both medians, the ratio and its interval, both error rates."""
    print(f"\nA/B against the baseline (paired ratio, bounds at {ab['confidence']:.0%} simultaneous over the actions;"
          f" a regression: lower bound above 1 and ratio above {1 + ab['min_effect']:.2f}x)")
    print(f"{'action':<16} {'pairs':>6} {'cand p50':>9} {'base p50':>9} {'ratio':>7} {'interval':>13} "
          f"{'cand err':>9} {'base err':>9}")
    for name, a in sorted(ab["actions"].items()):
        ratio = f"{a['ratio']:.2f}x" if a.get("ratio") is not None else "-"
        ci = (f"{a['ci_low']:.2f}-{a['ci_high']:.2f}" if a.get("ci_high") is not None else
              f"{a['ci_low']:.2f}-inf" if a.get("ci_low") is not None else "-")
        print(f"{name:<16} {a['pairs']:>6} {_ms(a.get('candidate_p50_ms'))} {' '}{_ms(a.get('baseline_p50_ms'))} "
              f"{ratio:>7} {ci:>13} {_pct(a.get('candidate_error_rate')):>9} {_pct(a.get('baseline_error_rate')):>9}")
    if ab.get("crossover"):
        leans = ", ".join(f"{n} {a['halves'][0]:.2f}x/{a['halves'][1]:.2f}x" for n, a in sorted(ab["actions"].items())
                          if a.get("halves"))
        print("  crossover: half the run with the candidate's server started first, half with the baseline's; the "
              f"ratio weighs both alike (halves: {leans or '-'})")
    for name, a in sorted(ab["actions"].items()):
        if a.get("unequal_work"):
            print(f"  {name}: {a['unequal_work']} pairs left out, the two sides moved different work (changesets or "
                  "bytes): the servers' histories differed at that moment")


def _pct(v) -> str:
    return "-" if v is None else f"{v:.2%}"


def _ms(v) -> str:
    return f"{v:>8.0f}" if isinstance(v, (int, float)) else f"{'-':>8}"


def stage_load(ctx: StageContext) -> StageResult:
    """The load stage of `hgharness run`: a short `mixed` run against the target, judged by the default gates.

    HGHARNESS_LOAD_DURATION (seconds) shortens or lengthens it; a target that does not allow load is skipped.
    """
    if not ctx.target.allow_load:
        ctx.progress("[load] skipped: the target does not allow load traffic (allow_load = false)")
        return StageResult.skipped("load", "the target does not allow load traffic (allow_load = false)")
    kw = dict(STAGE_DEFAULTS, slo_path=ctx.slo)
    if ctx.baseline is not None:
        kw["duration_s"] = AB_STAGE_DURATION_S
    if os.environ.get("HGHARNESS_LOAD_DURATION"):
        kw["duration_s"] = shapes.parse_duration(os.environ["HGHARNESS_LOAD_DURATION"])
    if kw["mix"] == "mixed" and not mixes.developer_available():
        kw["mix"] = "browse-heavy"  # this build has no Developer user
    started = time.monotonic()
    log = _server_access_log(ctx.server)
    log_start = log.stat().st_size if log is not None and log.exists() else None
    try:
        result = run_load(ctx.target, ctx.run_dir, LoadSpec(**kw), progress=ctx.progress, baseline=ctx.baseline,
                          server=ctx.server, crossover=ctx.crossover)
    except HarnessError as e:
        ctx.progress(f"[load] error: {e}")
        return StageResult.broken("load", e, started)
    if log_start is not None:
        _derive_back(result, log, log_start, ctx)
    return result


def _server_access_log(server) -> Path | None:
    """The embedded hgweb's access log, in a format `load derive` reads (None for other servers)."""
    if server is None or not getattr(server, "access_format", None):
        return None
    return Path(server.access_log)


def _derive_back(result: StageResult, log: Path, start: int, ctx: StageContext) -> None:
    """The load stage's part of the embedded server's access log, read back by `hgharness load derive` into a mix
    (run_dir/derived-mix.toml; the report's Load model section): the newcomer's first run shows derive at work
    on a log whose mix is known."""
    from urllib.parse import urlsplit

    from hgharness.load import mixfile

    run_dir = Path(ctx.run_dir)
    part = run_dir / "load-access.log"
    with open(log, "rb") as src, open(part, "wb") as dst:
        src.seek(start)
        shutil.copyfileobj(src, dst)
    try:
        model = derive.derive([part], prefix=urlsplit(ctx.target.url).path.rstrip("/"))
    except HarnessError as e:
        ctx.progress(f"[load] this run's access log was not derived into a mix: {e}")
        return
    (run_dir / "derived-mix.toml").write_text(mixfile.render("this-run", model), encoding="utf-8")
    result.files += ["load-access.log", "derived-mix.toml"]
    d = model["derived"]
    result.extra["derived_from_run"] = d
    shares = ", ".join(f"{cls} {c['share']:.0%}" for cls, c in d["classes"].items())
    ctx.progress(f"[load] its access log read back (hgharness load derive): {d['requests']} requests, "
                 f"{d['sessions']} sessions: {shares} (derived-mix.toml)")


def stage_capacity(ctx: StageContext) -> StageResult:
    """The capacity step of `hgharness run`: a short capacity search (CAPACITY_DEFAULTS), in run_dir/capacity/.

    It reports the highest throughput that held the [capacity] limits of slo.toml and the knee; with --baseline
    the same search runs against the baseline and the capacity_ratio gate judges the candidate. HGHARNESS_CAPACITY
    = 0 leaves it out (as does --stages); a target that does not allow load is skipped.
    """
    if not ctx.target.allow_load:
        ctx.progress("[capacity] skipped: the target does not allow load traffic (allow_load = false)")
        return StageResult.skipped("capacity", "the target does not allow load traffic (allow_load = false)")
    if os.environ.get("HGHARNESS_CAPACITY", "").strip().lower() in ("0", "false", "no", "off"):
        return StageResult.skipped("capacity", "left out (HGHARNESS_CAPACITY=0)")
    started = time.monotonic()
    sub = Path(ctx.run_dir) / "capacity"
    sub.mkdir(exist_ok=True)
    try:
        result = run_load(ctx.target, sub, LoadSpec(**CAPACITY_DEFAULTS, slo_path=ctx.slo), progress=ctx.progress,
                          baseline=ctx.baseline, stage="capacity")
    except HarnessError as e:
        ctx.progress(f"[capacity] error: {e}")
        return StageResult.broken("capacity", e, started)
    result.files = [f"capacity/{f}" for f in result.files]
    return result
