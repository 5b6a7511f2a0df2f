"""Run a load profile: Locust as child processes (one local runner, or a master and K workers), then the gates.

Everything Locust writes stays in the run directory:
    locust_stats.csv, locust_stats_history.csv, locust_failures.csv, locust_exceptions.csv, locust.html
    locust.log (and locust-worker-N.log)   the processes' own logs
    catalog.json                            every URL the users could request (from the fixture repositories)
    load-result.json                        per-action counts, failures, exact percentiles, target vs achieved
    samples/locust-<pid>.jsonl              every request's latency (reports/samples.py format)
    slo.json, junit-load.xml                one verdict per gate
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import hgharness
from hgharness.errors import HarnessError
from hgharness.load import mixes, shapes, slo
from hgharness.load.ab import BASELINE_DIR, CROSSOVER_DIR
from hgharness.procs import ManagedProcess
from hgharness.secrets import redact
from hgharness.session import StageResult

# where `import hgharness` resolves (a checkout or site-packages): the Locust processes import the same one
IMPORT_ROOT = Path(hgharness.__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
DEFAULT_MASTER_PORT = 5557  # Locust's own default, for workers on other hosts to find
GRACE_S = 120               # startup, catalog and shutdown on top of the run's duration
LAG_WARN_MS = 50            # event-loop lag (p95) of the load generator above which its timings are suspect


@dataclass
class LoadSpec:
    mix: str = mixes.DEFAULT_MIX
    shape: str = "constant"
    users: int = 10
    spawn_rate: float = 2.0
    duration_s: int = 60
    workers: int = 0               # local worker processes (0: one local runner, unless remote workers come)
    remote_workers: int = 0        # workers expected from other hosts
    master_bind_host: str | None = None
    master_port: int = 0
    workers_wait_s: int = 60
    slo_path: str | None = None
    mixes_path: str | None = None

    def validate(self) -> dict:
        """Check everything before any process starts; returns the mix."""
        if self.workers < 0 or self.remote_workers < 0:
            raise HarnessError("--workers and --remote-workers must be >= 0")
        if self.workers > 64:
            raise HarnessError("--workers must be at most 64 on one machine")
        mix = mixes.get_mix(self.mix, self.mixes_path)
        shapes.plan(self.shape, self.users, self.spawn_rate, self.duration_s, curve=(mix["daily"] or {}).get("rate"))
        slo.read_gates(self.slo_path)
        return mix

    @property
    def distributed(self) -> bool:
        return bool(self.workers or self.remote_workers)


def child_env(target, extra: dict | None = None, baseline=None) -> dict:
    from hgharness.load.ab import baseline_env

    env = {k: v for k, v in os.environ.items() if not k.startswith("HGHARNESS_")}
    env.update(target.to_env())
    if baseline is not None:
        env.update(baseline_env(baseline))
    pp = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(IMPORT_ROOT) + (os.pathsep + pp if pp else "")
    env["PYTHONUNBUFFERED"] = "1"
    env.update({k: str(v) for k, v in (extra or {}).items()})
    return env


def private_tmp(parent: Path) -> Path:
    """TMPDIR for the Locust processes (the Developer users' clones): inside the run, removed by this process
    when Locust ends, even when Locust itself is killed before its users could tidy up."""
    tmp = Path(parent) / ".tmp"
    tmp.mkdir(exist_ok=True)
    return tmp


def labelled(progress, stage: str):
    """progress with every line labelled by the stage it comes from: "[load] ...", "[capacity] ..."."""
    return lambda msg: progress(f"[{stage}] {msg}")


def prepare_catalog(target, run_dir: Path, progress=print, baseline=None) -> Path:
    """The URL catalog; in an A/B run, of the history both targets served when the run began (the checks and the
    traffic stage push to each, different changesets: a URL of one's new changeset is a 404 on the other)."""
    from hgharness.load.catalog import catalog_for, write_catalog

    catalog = catalog_for(target, workdir=run_dir / "clones" if not target.fixture_dir else None, progress=progress,
                          upto=baseline.common_tips if baseline is not None else None)
    n = sum(len(v) for v in catalog["actions"].values())
    progress(f"{n} URLs from {len(catalog['repos'])} fixture repositories ({', '.join(catalog['actions'])})")
    return write_catalog(catalog, run_dir / "catalog.json")


def run_load(target, run_dir: Path, spec: LoadSpec, progress=print, baseline=None, stage: str = "load",
             server=None, crossover=None) -> StageResult:
    """Run the profile against `target`: the load stage's result. With a `baseline` Target (A/B), every task
    is made against both, and the candidate is judged by its ratio to the baseline as well; a capacity search
    with a baseline searches each in turn (a paired task would tie one's rate to the other's).

    stage "capacity" (the short search of `hgharness run`) keeps only the capacity verdicts: the levels past the
    knee are meant to break the latency limits, which the load stage judges at the site's own pace. Every line
    `progress` gets is labelled with the stage ("[load] ...", "[capacity] ...").

    A mix whose Developers speak SSH (transport = "ssh") uses the target's SSH settings, or an sshd started here
    for the embedded `server` (stopped when the stage ends).

    `crossover` (RunSession.crossover(): the harness started both servers) restarts both, the baseline first: a
    paired run then measures its first half, restarts them, and measures its second half into <run>/crossover,
    and the comparison weighs both start orders alike (two servers of one build on one busy machine lean apart,
    the first started the slower)."""
    progress = labelled(progress, stage)
    target.require_load_allowed()  # first: nothing is sent to a target that may not take load
    if baseline is not None:
        baseline.require_load_allowed()
    mix = spec.validate()
    if mix.get("transport") == "ssh" and "Developer" in mix["users"]:
        if baseline is not None:
            raise HarnessError(f"mix {mix['name']!r} speaks SSH, which is not compared against a --baseline in "
                               "this build")
        from hgharness.sshd import ssh_target

        with ssh_target(target, server, progress) as (ssh, _sshd):
            return _run_load(ssh, run_dir, spec, mix, progress, None, stage)
    return _run_load(target, run_dir, spec, mix, progress, baseline, stage, crossover)


CROSSOVER_MIN_S = 20  # a paired run shorter than this is not split (each half loses warmup_s to the servers' start)


def _run_load(target, run_dir: Path, spec: LoadSpec, mix: dict, progress, baseline, stage: str,
              crossover=None) -> StageResult:
    started = time.monotonic()
    run_dir = Path(run_dir).resolve()  # Locust runs in it: every path it gets is absolute
    catalog = prepare_catalog(target, run_dir, progress, baseline)
    capacity = spec.shape == "capacity"
    split = (crossover is not None and baseline is not None and not capacity and spec.shape == "constant"
             and spec.duration_s >= CROSSOVER_MIN_S)
    if split:
        first = replace(spec, duration_s=spec.duration_s // 2)
        progress(f"crossover: {first.duration_s}s with the candidate's server started first, then both restarted "
                 "in the other order for the rest (a start-order lean between two servers then cancels)")
        result = _locust(target, run_dir, first, mix, catalog, progress, baseline=baseline)
        progress("crossover: restarting both servers, the baseline first")
        crossover()
        second_dir = run_dir / CROSSOVER_DIR
        second_dir.mkdir(exist_ok=True)
        second = _locust(target, second_dir, replace(spec, duration_s=spec.duration_s - first.duration_s), mix,
                         catalog, progress, baseline=baseline)
        result = merge_halves(result, second, run_dir)
        (run_dir / "load-result.json").write_text(json.dumps(result, indent=1))
    else:
        result = _locust(target, run_dir, spec, mix, catalog, progress, baseline=None if capacity else baseline)
    base_capacity = None
    if capacity and baseline is not None:
        base_dir = run_dir / "baseline"
        base_dir.mkdir(exist_ok=True)
        progress("the same capacity search against the baseline")
        base_capacity = _locust(baseline, base_dir, spec, mix, catalog, progress).get("capacity")
    out = finish(result, run_dir, spec, time.monotonic() - started, progress,
                 ab_compare=baseline is not None and not capacity, base_capacity=base_capacity, stage=stage)
    if mix.get("derived"):  # a mix derived from access logs: what it was learned from, for the report
        out.extra["derived"] = mix["derived"]
    return out


def _locust(target, run_dir: Path, spec: LoadSpec, mix: dict, catalog: Path, progress, baseline=None) -> dict:
    """One Locust run (local, or a master and its workers) into run_dir: its load-result.json."""
    tmp = private_tmp(run_dir)
    env = child_env(target, {"TMPDIR": tmp, "HGHARNESS_LOAD_MIX": mix["name"], "HGHARNESS_LOAD_SHAPE": spec.shape,
                             "HGHARNESS_LOAD_CATALOG": str(Path(catalog).resolve()),
                             "HGHARNESS_LOAD_MIXES": str(Path(spec.mixes_path or mixes.DEFAULT_MIXES).resolve()),
                             "HGHARNESS_LOAD_CAPACITY": json.dumps(slo.capacity_slo(slo.read_gates(spec.slo_path)))},
                    baseline=baseline)
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
            "-u", str(spec.users), "-r", str(spec.spawn_rate), "-t", f"{spec.duration_s}s", "--host", target.url,
            "--csv", str(run_dir / "locust"), "--csv-full-history", "--html", str(run_dir / "locust.html"),
            "--exit-code-on-error", "0", "--loglevel", "INFO"]
    workers: list[ManagedProcess] = []
    wait_s = spec.duration_s + GRACE_S
    if spec.distributed:
        from hgharness.embedded import free_port

        bind = spec.master_bind_host or ("*" if spec.remote_workers else "127.0.0.1")
        port = spec.master_port or (DEFAULT_MASTER_PORT if spec.remote_workers else free_port())
        argv += ["--master", "--master-bind-host", bind, "--master-bind-port", str(port),
                 "--expect-workers", str(spec.workers + spec.remote_workers),
                 "--expect-workers-max-wait", str(spec.workers_wait_s)]
        wait_s += spec.workers_wait_s
    argv += list(mix["users"])
    desc = (f"mix {mix['name']}, shape {spec.shape}, {spec.users} users at {spec.spawn_rate}/s for "
            f"{spec.duration_s}s" + (f", {spec.workers} local + {spec.remote_workers} remote workers"
                                     if spec.distributed else ""))
    progress(f"{desc} against {target.url}" + (f", paired with baseline {baseline.url} (every task on both)"
                                                     if baseline is not None else ""))
    from hgharness.load.ab import CpuPressure

    pressure = CpuPressure.of(target, baseline)  # A/B: how busy the machine was while it ran both targets
    master = ManagedProcess(argv, "locust", env={**env, "HGHARNESS_LOAD_OUT": str(run_dir.resolve())},
                            cwd=str(run_dir), stdout_path=run_dir / "locust.log",
                            stderr_path=run_dir / "locust.log")
    try:
        for i in range(spec.workers):
            workers.append(ManagedProcess(
                worker_argv("127.0.0.1", port), f"locust worker {i + 1}", env=env, cwd=str(run_dir),
                stdout_path=run_dir / f"locust-worker-{i + 1}.log", stderr_path=run_dir / f"locust-worker-{i + 1}.log"))
        code = _wait_printing_progress(master, wait_s, run_dir, spec, progress)
    finally:
        master.stop()
        for w in workers:
            w.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        _redact_logs(run_dir)
    result_path = run_dir / "load-result.json"
    if not result_path.exists():
        raise HarnessError(f"Locust exited with status {code} before the test ran: {_last_error(run_dir)}")
    result = json.loads(result_path.read_text())
    if pressure is not None:
        result["machine"] = pressure.result()
    return result


def merge_halves(first: dict, second: dict, run_dir: Path) -> dict:
    """One load result of a crossover's two halves: counts added, percentiles of both halves' samples (the
    samples files of run_dir and run_dir/crossover), the machine's CPU pressure weighted by each half's time."""
    from hgharness.load.slo import summarize

    out = dict(first)
    elapsed = (first.get("elapsed_s") or 0) + (second.get("elapsed_s") or 0)
    for key, sub in (("actions", ""), ("baseline_actions", BASELINE_DIR)):
        a, b = first.get(key) or {}, second.get(key) or {}
        if not a and not b:
            continue
        latencies = _ok_latencies([run_dir / sub, run_dir / CROSSOVER_DIR / sub])
        merged = {}
        for name in sorted(set(a) | set(b)):
            x, y = a.get(name, {}), b.get(name, {})
            count = x.get("count", 0) + y.get("count", 0)
            merged[name] = {"type": x.get("type") or y.get("type"), "count": count,
                            "failures": x.get("failures", 0) + y.get("failures", 0),
                            **summarize(latencies.get(name, []), count, elapsed)}
        out[key] = merged
        if key == "actions":
            web = [n for n, v in merged.items() if v["type"] != "hg"]
            agg = {"count": sum(merged[n]["count"] for n in merged), "failures": sum(merged[n]["failures"]
                                                                                   for n in merged)}
            agg.update(summarize([ms for n in web for ms in latencies.get(n, [])], agg["count"], elapsed))
            out["aggregate"] = agg
    targets = [r.get("target_web_requests") for r in (first, second)]
    out.update(elapsed_s=round(elapsed, 3), user_seconds=round((first.get("user_seconds") or 0) +
                                                               (second.get("user_seconds") or 0), 2),
               web_requests=(first.get("web_requests") or 0) + (second.get("web_requests") or 0),
               target_web_requests=None if None in targets else round(sum(targets), 2),
               exceptions=(first.get("exceptions") or []) + (second.get("exceptions") or []),
               peak_users=max(first.get("peak_users") or 0, second.get("peak_users") or 0),
               generator_lag_ms=max((r.get("generator_lag_ms") for r in (first, second) if r.get("generator_lag_ms")),
                                    key=lambda lag: lag.get("p95") or 0, default=None),
               crossover={"halves_s": [first.get("elapsed_s"), second.get("elapsed_s")]})
    machines = [(r.get("machine"), r.get("elapsed_s") or 0) for r in (first, second)]
    if all(m for m, _ in machines):
        shares = [(m["cpu_pressure"], w) for m, w in machines if m.get("cpu_pressure") is not None]
        total = sum(w for _, w in shares)
        out["machine"] = {"local": all(m.get("local") for m, _ in machines),
                          "cpu_pressure": round(sum(p * w for p, w in shares) / total, 3)
                          if len(shares) == 2 and total > 0 else None}
    return out


def _ok_latencies(folders: list[Path]) -> dict[str, list[float]]:
    """action -> the latencies (ms) of its successful requests, from the locust samples files of folders."""
    from hgharness.reports.samples import read_samples

    out: dict[str, list[float]] = {}
    for folder in folders:
        for action, rows in read_samples(folder, "locust").ok.items():
            out.setdefault(action, []).extend(ms for _, ms in rows)
    return out


PROGRESS_EVERY_S = 10


def _wait_printing_progress(master: ManagedProcess, wait_s: float, run_dir: Path, spec: LoadSpec, progress) -> int:
    """Wait for Locust to end (bounded by wait_s), printing what its progress file says every ~10 s: a soak
    lasts an hour, and nobody should stare at a silent terminal that long."""
    import subprocess

    deadline = time.monotonic() + wait_s
    path, seen = run_dir / "progress.json", None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise HarnessError(f"Locust did not finish within {wait_s}s; see {run_dir / 'locust.log'}")
        try:
            return master.proc.wait(min(PROGRESS_EVERY_S, left))
        except subprocess.TimeoutExpired:
            pass
        try:
            p = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # not written yet (Locust is starting, or building its users)
        if p == seen:
            continue
        seen = p
        p95 = f"{p['p95_ms']:.0f} ms" if p.get("p95_ms") is not None else "-"
        progress(f"{p['elapsed_s']:.0f}/{spec.duration_s}s: {p['users']} users, {p['rps']:.1f} req/s"
                 f"{' (both targets)' if p.get('paired') else ''}, {p['requests']} requests, {p['failures']} "
                 f"failed, p95 so far {p95}")


def worker_argv(master_host: str, master_port: int) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker", "--master-host", master_host,
            "--master-port", str(master_port), "--loglevel", "INFO"]


def run_worker(target, master_host: str, master_port: int, workdir: Path, timeout_s: int, progress=print) -> int:
    """Join a master on another host as one Locust worker; returns when the master ends the test (exit code)."""
    progress = labelled(progress, "load")
    target.require_load_allowed()
    workdir = Path(workdir).resolve()
    catalog = prepare_catalog(target, workdir, progress)
    tmp = private_tmp(workdir)
    env = child_env(target, {"TMPDIR": tmp, "HGHARNESS_LOAD_CATALOG": str(Path(catalog).resolve())})
    log = workdir / "locust-worker.log"
    progress(f"worker joining master {master_host}:{master_port} (log {log})")
    proc = ManagedProcess(worker_argv(master_host, master_port), "locust worker", env=env, cwd=str(workdir),
                          stdout_path=log, stderr_path=log)
    try:
        code = proc.proc.wait(timeout_s)
    except Exception:
        raise HarnessError(f"the worker was still running after {timeout_s}s; stopped it (see {log})") from None
    finally:
        proc.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        _redact_logs(workdir)
    if code != 0:
        raise HarnessError(f"the Locust worker exited with status {code}: {_last_error(workdir, log.name)}")
    progress("worker done: the master has the results")
    return 0


def finish(result: dict, run_dir: Path, spec: LoadSpec, duration_s: float, progress=print,
           ab_compare: bool = False, base_capacity: dict | None = None, stage: str = "load") -> StageResult:
    """Evaluate the gates on a load result: the load stage's result (or the run's capacity stage's)."""
    tables = slo.read_gates(spec.slo_path)
    gates = slo.evaluate(result, tables) if stage == "load" else []
    if result.get("capacity"):
        found = slo.capacity_gates(result["capacity"], base_capacity, tables)
        if stage == "capacity":  # the run's short step measures; the load stage judges latency at the site's pace
            found = [{**g, "status": "skipped", "message": g["message"] + ": capacity not measured here (the "
                      "load stage judges latency; `hgharness load --shape capacity` makes this a verdict)"}
                     if g["gate"] == "capacity.held_slo" and g["status"] == "failed" else g for g in found]
        gates += found
        for line in slo.capacity_lines(result["capacity"], base_capacity):
            progress(line)
    if ab_compare:  # each task waits for both targets: the candidate's request rate is not its own to judge
        gates = [{**g, "status": "skipped", "message": "paired A/B run: every task waits for both targets, so the "
                  "achieved rate is not the candidate's own (compare capacity with --shape capacity)"}
                 if g["gate"] == "aggregate.rate_ratio" else g for g in gates]
    ab = None
    if ab_compare:
        from hgharness.load import ab as ab_mod

        ab = ab_mod.analyze(run_dir, ab_mod.ab_gates(tables), machine=result.get("machine"))
        ab["baseline_actions"] = result.get("baseline_actions") or {}
        ab_mod.write(run_dir, ab)
        gates += ab["gates"]
        for g in ab_mod.regressions(ab):
            progress(f"REGRESSION {g['message']}")
    slo_json, junit = slo.write_results(run_dir, gates, result)
    counts = {k: sum(1 for g in gates if g["status"] == k) for k in ("passed", "failed", "skipped")}
    counts["error"] = 0
    failed = [g for g in gates if g["status"] == "failed"]
    problems = []
    if spec.distributed and result.get("workers", 0) < spec.workers + spec.remote_workers:
        problems.append(f"only {result.get('workers')} of {spec.workers + spec.remote_workers} workers took part")
    if not result["aggregate"]["count"]:
        problems.append("no request was made")
    if result.get("exceptions"):
        e = result["exceptions"][0]
        problems.append(f"{sum(x['count'] for x in result['exceptions'])} exception(s) in the load users, "
                        f"e.g. {e['msg']} ({e['where']})")
    if problems:
        exit_code, status, detail = 2, "error", "; ".join(problems)
        counts["error"] = 1
    elif failed:
        exit_code, status = 1, "failed"
        detail = "breached: " + ", ".join(_named(g) for g in failed)
    else:
        exit_code, status = 0, "passed"
        detail = f"{counts['passed']} gates passed"
    warnings = []
    lag = result.get("generator_lag_ms") or {}
    if (lag.get("p95") or 0) > LAG_WARN_MS:
        warnings.append(f"the load generator itself ran late (event-loop lag p95 {lag['p95']:.0f} ms, max "
                        f"{lag['max']:.0f} ms): measured latencies include up to that much of its own delay; "
                        "use --workers or fewer users per process")
    for w in warnings:
        progress(f"WARNING: {w}")
    agg = result["aggregate"]
    progress(f"{status}: {agg['count']} requests, {agg['failures']} failed, "
             f"{counts['passed']} gates passed, {counts['failed']} failed, {counts['skipped']} skipped"
             + (f" ({detail})" if exit_code else ""))
    tests = [{"id": f"{stage}::{g['gate']}", "stage": stage, "outcome": g["status"], "duration_s": 0.0,
              "message": g["message"], "artifacts": []} for g in gates]
    if problems:
        tests.append({"id": f"{stage}::run", "stage": stage, "outcome": "error", "duration_s": 0.0,
                      "message": detail, "artifacts": [], "harness_error": detail})
    files = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*")
                   if p.is_file() and (p.name.startswith(("locust", "load-result", "catalog", "ab.json")) or
                                       p in (slo_json, junit) or p.parent.name == "samples" and
                                       p.name.startswith("locust")))
    profile = {k: result.get(k) for k in ("mix", "shape", "peak_users", "elapsed_s", "workers", "web_requests",
                                          "target_web_requests", "generator_lag_ms")}
    extra = {"profile": profile}
    if result.get("capacity"):
        extra["capacity"] = {"candidate": result["capacity"], "baseline": base_capacity}
    if ab is not None:
        extra["ab"] = ab_mod.summary_entry(ab)
    return StageResult(stage, status, exit_code, counts, duration_s=duration_s, detail=detail, files=files,
                       junit=str(junit), tests=tests, slo=gates, warnings=warnings, extra=extra,
                       actions=result["actions"] if stage == "load" else {})  # unpaced latencies stay apart


def _named(gate: dict) -> str:
    """A breached gate as the one-line verdict names it: an A/B ratio with its figure."""
    if gate.get("metric") == "p50_ratio":
        return f"{gate['gate']} ({gate['observed']:.2f}x the baseline)"
    if gate.get("metric") == "error_rate_diff":
        return f"{gate['gate']} (+{gate['observed']:.2%} errors over the baseline)"
    return gate["gate"]


def _last_error(run_dir: Path, name: str = "locust.log") -> str:
    try:
        lines = [ln.strip() for ln in (run_dir / name).read_text(errors="replace").splitlines()
                 if ln.strip()]
    except OSError:
        return "no log"
    for ln in reversed(lines):
        if "ERROR" in ln or "Error" in ln or "error" in ln:
            return redact(ln)[:300]
    return redact(lines[-1])[:300] if lines else "no output"


def _redact_logs(run_dir: Path) -> None:
    for p in run_dir.glob("locust*.log"):
        text = p.read_text(errors="replace")
        clean = redact(text)
        if clean != text:
            p.write_text(clean)
