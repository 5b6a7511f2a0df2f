"""Locust event hooks: options, target and catalog, mix weights and paces, raw samples, and the result file.

Runs inside every Locust process (local, master, worker). What each one does:
  all           --hg-* options (init_command_line_parser; Locust forwards them from the master to workers)
  local/worker  load the Target (HGHARNESS_* environment) and the catalog; record every request's latency
  worker        ship the recorded latencies to the master with each stats report
  local/master  apply the mix weights; integrate users x pace over time (the target request count); at the end
                write <out>/samples/locust-<pid>.jsonl (reports/samples.py format) and <out>/load-result.json,
                which the harness evaluates against the SLO gates
"""

from __future__ import annotations

import json
import os
import random
import time
import traceback
from pathlib import Path

import gevent
from locust import events
from locust.runners import MasterRunner, WorkerRunner

from hgharness.load import users as users_mod
from hgharness.load.ab import BASELINE_DIR, SIDE
from hgharness.load.slo import quantile, summarize
from hgharness.secrets import redact

RESULT_SCHEMA = "hgharness.load-result/1"
RESERVOIR = 200_000  # latencies kept in memory per action for exact percentiles; beyond, a uniform sample
LAG_TICK_S = 0.1     # the event-loop lag probe's period
TIMELINE_MAX = 5_000_000  # capacity search: (t, ms, ok) kept per request, bounded
PROGRESS_S = 10      # how often the master (or local runner) writes <out>/progress.json for the harness to print


@events.init_command_line_parser.add_listener
def _options(parser):
    g = parser.add_argument_group("hgharness")
    g.add_argument("--hg-mix", env_var="HGHARNESS_LOAD_MIX", default="mixed", help="user mix (load/mixes.toml)")
    g.add_argument("--hg-mixes", env_var="HGHARNESS_LOAD_MIXES", default="", help="mixes file")
    g.add_argument("--hg-shape", env_var="HGHARNESS_LOAD_SHAPE", default="constant", help="load shape")
    g.add_argument("--hg-out", env_var="HGHARNESS_LOAD_OUT", default="", help="run directory for results")


class Collector:
    def __init__(self, environment):
        self.env = environment
        self.runner = environment.runner
        self.is_worker = isinstance(self.runner, WorkerRunner)
        self.is_master = isinstance(self.runner, MasterRunner)
        self.pending: list[tuple] = []         # worker: not yet shipped
        self.latencies: dict[str, list[float]] = {}
        self.seen: dict[str, int] = {}
        self.base_latencies: dict[str, list[float]] = {}  # A/B runs: the baseline's, apart
        self.capacity_search = None  # the capacity shape's CapacitySearch (set by the shape)
        capacity = getattr(environment.parsed_options, "hg_shape", "") == "capacity"
        self.timeline: list[tuple] | None = [] if capacity else None  # (t, ms, ok) of the candidate's requests
        self.started_unix = None
        self.writer = self.base_writer = None
        self.mix = None
        self.expected = 0.0
        self.unpaced = False
        self.user_seconds = 0.0
        self.peak_users = 0
        self.workers = 0  # most workers seen running at once (they are gone by the time results are written)
        self.started = self.stopped = self._last = None
        self._integrator = None
        self.lag: list[float] = []
        self.lag_pending: list[float] = []
        self.lag_seen = 0
        self._lag_greenlet = None

    # --- every process that runs users ---
    def on_request(self, request_type, name, response_time, exception=None, context=None, **_kw):
        # once per request in the load generator: kept lean (bench/bench_load.py measures what it costs)
        pair = context.get("pair") if context else None
        base = request_type.startswith(SIDE)
        if self.is_worker:
            self.pending.append((name, response_time, time.time(), exception is None, base, pair))
        else:
            self.add(name, response_time, time.time(), exception is None, base, pair)

    def on_report_to_master(self, client_id, data):
        data["hgharness_samples"], self.pending = self.pending, []
        data["hgharness_lag"], self.lag_pending = self.lag_pending, []

    def on_worker_report(self, client_id, data):
        for sample in data.get("hgharness_samples", ()):
            self.add(*sample)
        for ms in data.get("hgharness_lag", ()):
            self.add_lag(ms)

    # --- how late the load generator itself runs: its delay is inside every latency it measures ---
    def _lag_monitor(self):
        while True:
            t0 = time.perf_counter()
            gevent.sleep(LAG_TICK_S)
            ms = (time.perf_counter() - t0 - LAG_TICK_S) * 1000
            if self.is_worker:
                self.lag_pending.append(ms)
            else:
                self.add_lag(ms)

    def add_lag(self, ms: float) -> None:
        self.lag_seen += 1
        if len(self.lag) < RESERVOIR:
            self.lag.append(ms)
        elif (j := random.randrange(self.lag_seen)) < RESERVOIR:
            self.lag[j] = ms

    def add(self, name: str, ms: float, t: float, ok: bool, base: bool = False, pair=None) -> None:
        writer = self.base_writer if base else self.writer
        if writer is not None:
            writer.add(name, ms, t, ok, pair)
        if self.timeline is not None and not base and len(self.timeline) < TIMELINE_MAX:
            self.timeline.append((t, ms, ok))
        if not ok:
            return
        latencies = self.base_latencies if base else self.latencies
        kept = latencies.get(name)
        if kept is None:
            kept = latencies[name] = []
        if len(kept) < RESERVOIR:
            kept.append(ms)
            return
        # reservoir sampling (Algorithm R): every latency equally likely to be kept
        key = (base, name)
        n = self.seen[key] = self.seen.get(key, RESERVOIR) + 1
        j = random.randrange(n)
        if j < RESERVOIR:
            kept[j] = ms

    # --- test lifecycle ---
    def on_test_start(self, environment, **_kw):
        mix = _mix(environment)
        unpaced = self.timeline is not None  # a capacity search: the HTTP users ask as fast as the site answers
        users_mod.set_repo_weights(mix.get("repos") or [])  # a derived mix: its repositories' popularity
        for cls in users_mod.USER_CLASSES:
            pace = mix["pace"].get(cls.__name__, 0.0)
            if unpaced and issubclass(cls, users_mod.CatalogUser):
                pace = 0.0
            users_mod.set_pace(cls, pace)
            if issubclass(cls, users_mod.CatalogUser):
                users_mod.set_actions(cls, mix["actions"].get(cls.__name__, {}))
            elif hasattr(cls, "set_actions"):  # the Developer: its pull, push, clone, and their transport
                if mix["actions"].get(cls.__name__):
                    cls.set_actions(mix["actions"][cls.__name__])
                cls.transport = mix.get("transport", "http")
        if not self.is_master and self._lag_greenlet is None:
            self._lag_greenlet = gevent.spawn(self._lag_monitor)
        if self.is_worker:
            return
        self.mix = mix
        self.unpaced = self.unpaced or unpaced  # no target rate to reach: the rate gate has nothing to judge
        self.started = self._last = time.monotonic()
        self.started_unix = time.time()
        self._integrator = gevent.spawn(self._integrate)
        out = getattr(environment.parsed_options, "hg_out", "")
        if out:
            self._progress = gevent.spawn(self._report_progress, Path(out) / "progress.json")

    def measure(self, start_s: float, end_s: float) -> dict:
        """The candidate's requests that ended between run times start_s and end_s: for the capacity search."""
        t0 = (self.started_unix or time.time()) + start_s
        t1 = (self.started_unix or time.time()) + end_s
        window = [(ms, ok) for t, ms, ok in self.timeline or () if t0 <= t < t1]
        ok = sorted(ms for ms, good in window if good)
        span = max(end_s - start_s, 1e-6)
        return {"rps": round(len(ok) / span, 2), "count": len(ok),
                "p95_ms": round(quantile(ok, 0.95, presorted=True), 1) if ok else None,
                "error_rate": round((len(window) - len(ok)) / len(window), 4) if window else None}

    def _report_progress(self, path: Path):
        """Every PROGRESS_S: users, request rate, failures and p95 so far, from Locust's own running statistics
        (its histogram: cheap, unlike sorting every latency kept), written atomically."""
        while True:
            gevent.sleep(PROGRESS_S)
            total = self.env.stats.total
            cand = [e for (name, method), e in self.env.stats.entries.items() if not method.startswith(SIDE)]
            line = {"elapsed_s": round(time.monotonic() - self.started, 1), "users": self.runner.user_count,
                    "rps": round(total.current_rps, 2), "requests": sum(e.num_requests for e in cand),
                    "failures": sum(e.num_failures for e in cand),
                    "p95_ms": total.get_response_time_percentile(0.95) if total.num_requests else None,
                    "paired": self.base_writer is not None}
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(line))
            os.replace(tmp, path)

    def _counts(self) -> dict[str, int]:
        if self.is_master:
            return dict(self.runner.reported_user_classes_count)
        return dict(self.runner.user_classes_count)

    def _integrate(self):
        while True:
            gevent.sleep(0.25)
            self._step()

    def _step(self) -> None:
        now = time.monotonic()
        dt, self._last = now - self._last, now
        counts = self._counts()
        total = sum(counts.values())
        self.peak_users = max(self.peak_users, total)
        if self.is_master:
            self.workers = max(self.workers, self.runner.worker_count)
        self.user_seconds += total * dt
        for cls, n in counts.items():
            if cls == "Developer" or cls not in self.mix["pace"]:
                continue  # Mercurial operations: their latency is gated, not their rate
            pace = self.mix["pace"][cls]
            if pace == 0 and n:
                self.unpaced = True
            self.expected += n * pace * dt

    def on_test_stopping(self, environment, **_kw):
        if self._lag_greenlet is not None:
            self._lag_greenlet.kill(block=False)
            self._lag_greenlet = None
        if getattr(self, "_progress", None) is not None:
            self._progress.kill(block=False)
            self._progress = None
        if self._integrator is not None:
            self._integrator.kill(block=True)
            self._integrator = None
            self._step()
        if self.started is not None and self.stopped is None:
            self.stopped = time.monotonic()

    def on_quitting(self, environment, **_kw):
        if self.is_worker:
            return
        self.on_test_stopping(environment)
        out = getattr(environment.parsed_options, "hg_out", "")
        if not out:
            return
        for writer in (self.writer, self.base_writer):
            if writer is not None:
                writer.flush()
        Path(out).mkdir(parents=True, exist_ok=True)
        result = self.result(environment)
        (Path(out) / "load-result.json").write_text(redact(json.dumps(result, indent=1)) + "\n")

    def result(self, environment) -> dict:
        stats = environment.stats
        elapsed = (self.stopped or time.monotonic()) - (self.started or time.monotonic())
        actions: dict[str, dict] = {}
        baseline: dict[str, dict] = {}
        web_requests = 0
        for (name, method), entry in stats.entries.items():
            side = baseline if method.startswith(SIDE) else actions
            a = side.setdefault(name, {"type": method.removeprefix(SIDE), "count": 0, "failures": 0})
            a["count"] += entry.num_requests
            a["failures"] += entry.num_failures
            if side is actions and method != "hg":
                web_requests += entry.num_requests
        for name, a in actions.items():
            a.update(summarize(self.latencies.get(name, []), a["count"], elapsed))
        for name, a in baseline.items():
            a.update(summarize(self.base_latencies.get(name, []), a["count"], elapsed))
        # the aggregate's latency is the web requests': Mercurial operations last seconds and have gates of their
        # own (slo.toml [actions.pull] ...), a mix of developers on SSH would otherwise pass the pages' 2 s p50
        everything = [ms for name, v in self.latencies.items() if actions.get(name, {}).get("type") != "hg"
                      for ms in v]
        aggregate = {"count": sum(a["count"] for a in actions.values()),
                     "failures": sum(a["failures"] for a in actions.values())}
        aggregate.update(summarize(everything, aggregate["count"], elapsed))
        exceptions = [{"count": e["count"], "msg": redact(str(e["msg"]))[:500],
                       "where": redact(_last_frame(e.get("traceback", "")))}
                      for e in getattr(self.runner, "exceptions", {}).values()]
        return {
            "schema": RESULT_SCHEMA, "mix": self.mix and self.mix["name"],
            "shape": environment.parsed_options.hg_shape, "peak_users": self.peak_users,
            "user_seconds": round(self.user_seconds, 2), "elapsed_s": round(elapsed, 3),
            "workers": self.workers,
            "web_requests": web_requests,
            "target_web_requests": None if self.unpaced or self.mix is None else round(self.expected, 2),
            "actions": actions, "aggregate": aggregate, "exceptions": exceptions,
            "baseline_actions": baseline or None,
            "capacity": self.capacity_search.summary() if self.capacity_search is not None else None,
            "generator_lag_ms": _lag_summary(self.lag),
        }


class SampleLines:
    """Raw latencies in reports/samples.py's format (<out>/samples/locust-<pid>.jsonl, one JSON object a line).

    Written here rather than through reports.samples.SampleWriter because this runs once per request in the
    load generator: a cached JSON prefix per action and %-formatting cost a third of json.dumps per line, which
    keeps the harness's users within 10% of a bare FastHttpUser (bench/bench_load.py).
    """

    FLUSH_EVERY = 5000

    def __init__(self, out: str):
        from hgharness.reports.samples import samples_path

        self.path = samples_path(out, "locust")
        self._prefix: dict[str, str] = {}
        self._buf: list[str] = []

    def add(self, name: str, ms: float, t: float, ok: bool, pair=None) -> None:
        prefix = self._prefix.get(name)
        if prefix is None:
            prefix = self._prefix[name] = '{"action": %s, "ms": ' % json.dumps(str(name), ensure_ascii=False)
        tail = "" if ok else ', "ok": false'
        if pair is not None:  # A/B runs: the id shared by the two sides of one task
            tail += ', "pair": "%s"' % pair
        self._buf.append('%s%.3f, "t": %.3f%s}\n' % (prefix, ms, t, tail))
        if len(self._buf) >= self.FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if self._buf:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write("".join(self._buf))
            self._buf.clear()


def _lag_summary(lag: list[float]) -> dict | None:
    if not lag:
        return None
    xs = sorted(lag)
    return {"ticks": len(xs), "p50": round(quantile(xs, 0.5), 2), "p95": round(quantile(xs, 0.95), 2),
            "p99": round(quantile(xs, 0.99), 2), "max": round(xs[-1], 2)}


def _last_frame(tb: str) -> str:
    lines = [ln.strip() for ln in str(tb).splitlines() if ln.strip().startswith("File ")]
    return lines[-1] if lines else ""


def _mix(environment) -> dict:
    from hgharness.load.mixes import get_mix

    o = environment.parsed_options
    return get_mix(o.hg_mix, o.hg_mixes or None, check_available=False)


mix_of = _mix  # the shape's way in (the daily shape plays the mix's curve)


@events.init.add_listener
def _init(environment, runner=None, **_kw):
    c = Collector(environment)
    environment.hgharness = c
    ev = environment.events
    if not c.is_master:
        _configure_users(environment)
        ev.request.add_listener(c.on_request)
    if c.is_worker:
        ev.report_to_master.add_listener(c.on_report_to_master)
    else:
        mix = _mix(environment)
        for cls in environment.user_classes:  # the master decides how many users of each class run
            cls.weight = mix["users"].get(cls.__name__, 1)
        out = getattr(environment.parsed_options, "hg_out", "")
        if out:
            c.writer = SampleLines(out)
            if os.environ.get("HGHARNESS_BASELINE_TARGET"):
                c.base_writer = SampleLines(str(Path(out) / BASELINE_DIR))
    if c.is_master:
        ev.worker_report.add_listener(c.on_worker_report)
    ev.test_start.add_listener(c.on_test_start)
    ev.test_stopping.add_listener(c.on_test_stopping)
    ev.quitting.add_listener(c.on_quitting)


def _configure_users(environment) -> None:
    from hgharness.load.catalog import catalog_for, read_catalog
    from hgharness.target import Target

    target = Target.from_options()
    path = os.environ.get("HGHARNESS_LOAD_CATALOG")
    try:
        catalog = read_catalog(path) if path else catalog_for(target)
    except Exception:
        traceback.print_exc()
        raise
    from hgharness.load.ab import baseline_from_env

    users_mod.configure(target, catalog, baseline=baseline_from_env())
