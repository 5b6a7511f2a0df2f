"""Paired A/B verdicts on a busy machine: false alarms of A/A pairs, and the power to see one page 20% slower.

Embedded hgweb servers on copies of the same fixture set: for the A/A series a healthy baseline and a healthy
candidate, for the other a healthy baseline and a candidate whose changeset pages are 20% slower. "20% slower"
is, by default (--slow-as share), as the page's users see it: every changeset page takes SHARE times its own
time longer (tests/ab_builds.py:slower_by_share), SHARE being 0.2 x the page's median latency at the client / its
median time in hgweb, both measured in the A/A run just before (whose candidate carries the same wrap at share 0,
timing the page). The extra time then follows the machine's load as the page's own time does: a fixed extra time
(--slow-as client: 20% of the page's client median in the A/A run before, tests/ab_builds.py:slower_by_ms) came
out at 8-13% of the page when the load rose between the two runs, and the bench measured that drift instead of the
harness. With --slow-as server, the page's own time in hgweb takes 1.2x as long (tests/ab_builds.py:slower_pages):
the client sees less than 1.2x, since its own share of each request and the machine's queueing are not slowed (on
a loaded 2-core machine 1.08x-1.18x).

By default (--slowed-on embedded) every run is `hgharness load --baseline embedded` (the slowed candidate wrapped
with --server-wrap): the harness starts both servers and measures half the run with each start order (a
crossover, load/ab.py), which is what a user comparing two builds it starts itself gets. The modes below start the
servers here and hand their URLs to the harness (one start order, no crossover).

With --slowed-on separate, each run starts its own two servers, over fresh copies of the fixture set, in a random order: two servers of one
build lean apart by a few percent, the same way for as long as they run (one pair kept for a whole bench leaned
0.92x-0.99x in every A/A run), so a bench on one pair measures that pair's lean, not the harness's false alarm
rate over deploys (--same-servers keeps one pair per series). Each "pair" is one real
`hgharness load --target CANDIDATE --baseline BASELINE` run (users asking back to back, changeset and summary
pages, 3:1); A/A and slowed runs alternate, so the machine's state hits both series alike. While they run, --busy processes spin on the CPU (a 2-core machine busy with something
else, as a CI runner is).

With --slowed-on shared, each slowed run's candidate and baseline are one new server listening on two ports, whose
wrap slows only the candidate's port: the same processes, so no lean between deployments, and the candidate is
20% slower than its baseline and nothing else. With --slow-as client, the extra time is then 20% of the page's
median in a 20 s run on that same server just before (both ports healthy), not in the previous A/A run: the
machine's load drifts between runs, and a delay fixed from the previous run's median read 1.29x in one run and
1.10x in the next (a busy machine, one server on two ports). The A/A runs keep two servers (their lean is what false alarms are
made of). --slowed-on separate keeps two servers for the slowed runs as well: the candidate is then 20% slower
than a server that may itself lean a few percent either way.

    .venv/bin/python bench/bench_ab.py [--pairs 20] [--duration 45] [--busy 1] [--users 2] [--slowed-on shared]

Prints: A/A pairs flagged (any A/B gate failed) out of N, slowed pairs whose changeset ratio was flagged out of N,
and the run time of one pair. The issue asks for at most 1 and at least 19 of 20.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hgharness.embedded import EmbeddedHgweb  # noqa: E402
from hgharness.fixtures.sets import DEFAULT_SET, build_set  # noqa: E402
from hgharness.server import free_port  # noqa: E402
from tests.ab_builds import one_class_mix  # noqa: E402
from tests.conftest import copy_repos, hgweb  # noqa: E402

MIX = one_class_mix("two", "AnonymousBrowser", {"summary": 1, "changeset": 3})

PASSWORD = "bench-ab-secret"


class TwoPortHgweb(EmbeddedHgweb):
    """One embedded hgweb listening on two ports; its wrap slows only the requests to the second (AB_SLOW_PORT):
    the slowed candidate and its baseline are then the same processes (--slowed-on shared)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.port2 = free_port(self.host)

    def argv(self) -> list[str]:
        argv = super().argv()
        at = argv.index("--bind") + 2
        return argv[:at] + ["--bind", f"{self.host}:{self.port2}"] + argv[at:]

    def env(self) -> dict:
        return {**super().env(), "AB_SLOW_PORT": str(self.port2)}

    def second(self):
        """The candidate as the load run sees it: the same server at its second port."""
        return SimpleNamespace(url=f"http://{self.host}:{self.port2}/", repos_dir=self.repos_dir,
                               username=self.username)


def spin(stop_at: float) -> None:  # a neighbour burning one core
    x = 0
    while time.monotonic() < stop_at:
        x = (x * 31 + 7) % 1000003


def client_median(action: dict) -> float:
    """The page's median latency at the client in one run: the mean of the two sides' medians (ab.json)."""
    return ((action.get("candidate_p50_ms") or 0) + (action.get("baseline_p50_ms") or 0)) / 2


def one_run(cand, base, work: Path, mixes: Path, args, label: str, i: int, duration: int | None = None,
            wrap: str | None = None) -> dict:
    """One `hgharness load --baseline` run: against the servers cand and base, or (cand None) against two the
    harness starts itself (--baseline embedded, the candidate wrapped in `wrap`): a crossover."""
    runs = work / "runs"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HGHARNESS_")}
    env.update(PYTHONPATH=str(ROOT))
    if cand is not None:
        env.update(HGHARNESS_FIXTURE_DIR=str(cand.repos_dir), HGHARNESS_USERNAME=cand.username,
                   HGHARNESS_PASSWORD=PASSWORD)
        targets = ["--target", cand.url, "--baseline", base.url]
    else:
        targets = ["--baseline", "embedded", "--repos-dir", str(work / "seed"), "--server-workers", "4"]
        targets += ["--server-wrap", wrap] if wrap else []
    run_id = f"{label}-{i:02d}"
    duration = duration or args.duration
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "hgharness", "load", *targets,
                        "--mixes", str(mixes), "--mix", "two", "--users", str(args.users), "--spawn-rate",
                        str(args.users), "--duration", str(duration), "--runs-dir", str(runs), "--run-id", run_id],
                       env=env, capture_output=True, text=True, cwd=str(ROOT), timeout=duration + 300)
    took = time.monotonic() - t0
    ab_path = runs / run_id / "ab.json"
    if not ab_path.exists():
        raise SystemExit(f"{run_id}: no A/B result (exit {p.returncode}): {p.stderr[-500:]}{p.stdout[-500:]}")
    ab = json.loads(ab_path.read_text())
    failed = [g["gate"] for g in ab["gates"] if g["status"] == "failed"]
    cs = ab["actions"].get("changeset", {})
    other = ab["actions"].get("summary", {})
    shutil.rmtree(runs / run_id, ignore_errors=True)
    return {"failed": failed, "seconds": took, "exit": p.returncode, "changeset": cs, "summary": other,
            "crossover": bool(ab.get("crossover")),
            "load": os.getloadavg()[0], "pressure": (ab.get("machine") or {}).get("cpu_pressure"),
            "inconclusive": [g["gate"] for g in ab["gates"] if g.get("inconclusive")]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--duration", type=int, default=45)
    ap.add_argument("--users", type=int, default=2, help="users asking back to back, no pause (default 2)")
    ap.add_argument("--busy", type=int, default=1, help="processes spinning on the CPU meanwhile (default 1)")
    ap.add_argument("--same-servers", dest="fresh", action="store_false",
                    help="keep one pair of servers per series for every run (default: two new servers per run, so "
                    "each run meets a new lean between two deployments, as successive deploys do)")
    ap.add_argument("--slow-as", choices=("share", "client", "server"), default="share",
                    help="20%% slower as the client sees the page: a share of the page's own time, calibrated in "
                    "the A/A run before (default; --slowed-on embedded only), or a fixed time; or 1.2x the page's "
                    "own time in the server")
    ap.add_argument("--slowed-on", choices=("embedded", "separate", "shared"), default="embedded",
                    help="the servers: started by the harness itself (default: `load --baseline embedded`, the "
                    "candidate wrapped with --server-wrap; a crossover, half the run in each start order), two "
                    "servers started here (the pair's own lean of a few percent adds to or takes from the 20%%), "
                    "or for the slowed runs one server on two ports, slowing the candidate's port only (the "
                    "candidate is exactly 20%% slower than its baseline)")
    args = ap.parse_args()
    if args.slow_as == "share" and args.slowed_on != "embedded":
        ap.error("--slow-as share needs --slowed-on embedded (use --slow-as client or server)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers (finally below) when killed
    work = Path(tempfile.mkdtemp(prefix="hgharness-bench-ab-"))
    busy = []
    stack = contextlib.ExitStack()  # the servers, stopped at the end (or when killed)
    try:
        seed = work / "seed"
        build_set(DEFAULT_SET, seed)
        mixes = work / "mixes.toml"
        mixes.write_text(MIX)
        os.environ["AB_SLOW_ROUTE"], os.environ["AB_SLOW_FACTOR"] = "/rev/", "1.2"
        extra = work / "extra-ms"
        extra.write_text("0")
        os.environ["AB_SLOW_MS_FILE"] = str(extra)
        share, times = work / "share", work / "times"
        share.write_text("0")
        times.mkdir()
        os.environ["AB_SLOW_SHARE_FILE"], os.environ["AB_TIMES_DIR"] = str(share), str(times)
        slower = {"client": "tests.ab_builds:slower_by_ms", "server": "tests.ab_builds:slower_pages",
                  "share": "tests.ab_builds:slower_by_share"}[args.slow_as]
        # with --slow-as share the A/A candidate carries the same wrap at share 0: it times the page, no more
        wraps = {"base-same": None, "same": slower if args.slow_as == "share" else None, "base-slowed": None,
                 "slowed": slower}

        def start(name: str, where: Path, at) -> object:
            return at.enter_context(hgweb(copy_repos(seed, where / f"{name}-repos"), workers=4, password=PASSWORD,
                                          wrap=wraps[name]))

        servers = {} if args.fresh else {name: start(name, work, stack) for name in wraps}
        stop_at = time.monotonic() + 4 * 3600
        busy = [multiprocessing.Process(target=spin, args=(stop_at,), daemon=True) for _ in range(args.busy)]
        for b in busy:
            b.start()
        results = {"same": [], "slowed": []}
        for i in range(args.pairs):
            for label in ("same", "slowed"):
                if label == "slowed" and args.slow_as == "client":  # 20% of the page as the A/A run just saw it
                    cs = results["same"][-1]["changeset"]
                    median = client_median(cs)
                    extra.write_text(f"{0.2 * median:.2f}")
                if args.slow_as == "share":  # A/A: share 0; slowed: 20% of the client's median, in page time
                    last = results["same"][-1] if label == "slowed" else None
                    share.write_text(f"{0.2 * last['client_ms'] / last['server_ms']:.4f}" if last else "0")
                    for f in times.iterdir():
                        f.unlink()
                if args.slowed_on == "embedded":  # the harness starts both, and restarts them halfway
                    r = one_run(None, None, work, mixes, args, label, i, wrap=wraps[label])
                elif label == "slowed" and args.slowed_on == "shared":  # one new server on two ports
                    with contextlib.ExitStack() as run_stack:
                        where = work / f"{label}-{i:02d}"
                        one = run_stack.enter_context(hgweb(copy_repos(seed, where / "repos"), workers=4,
                                                            password=PASSWORD, wrap=slower, server_class=TwoPortHgweb))
                        if args.slow_as == "client":  # 20% of the page as this server's two ports serve it now
                            extra.write_text("0")
                            cal = one_run(one.second(), one, work, mixes, args, "calibrate", i, 20)
                            cs = cal["changeset"]
                            median = client_median(cs)
                            extra.write_text(f"{0.2 * median:.2f}")
                        r = one_run(one.second(), one, work, mixes, args, label, i)
                        if args.slow_as == "client":
                            r["seconds"] += cal["seconds"]  # the calibration is part of the pair's time
                    shutil.rmtree(where, ignore_errors=True)
                elif args.fresh:  # two new servers, started in a random order: a lean of their own each run
                    with contextlib.ExitStack() as run_stack:
                        where = work / f"{label}-{i:02d}"
                        names = [label, f"base-{label}"]
                        random.shuffle(names)
                        pair = {name: start(name, where, run_stack) for name in names}
                        r = one_run(pair[label], pair[f"base-{label}"], work, mixes, args, label, i)
                    shutil.rmtree(where, ignore_errors=True)
                else:
                    r = one_run(servers[label], servers[f"base-{label}"], work, mixes, args, label, i)
                if args.slow_as == "share":
                    own = sorted(float(x) for f in times.iterdir() for x in f.read_text().split())
                    cs = r["changeset"]
                    r.update(share=float(share.read_text()), server_ms=own[len(own) // 2] if own else math.nan,
                             client_ms=client_median(cs))
                results[label].append(r)
                cs, sm = r["changeset"], r["summary"]
                shared = (f"share {r['share']:.3f} (page {r['server_ms']:.0f} ms in hgweb, {r['client_ms']:.0f} ms "
                          "at the client)  ") if "share" in r else ""
                print(f"{label:<7} {i + 1:>2}/{args.pairs}  exit {r['exit']}  changeset ratio {cs.get('ratio')} "
                      f"[{cs.get('ci_low')}, {cs.get('ci_high')}] ({cs.get('pairs')} pairs)  summary "
                      f"{sm.get('ratio')} [{sm.get('ci_low')}, {sm.get('ci_high')}]  flagged: "
                      f"{', '.join(r['failed']) or '-'}  inconclusive: {', '.join(r['inconclusive']) or '-'}  load {r['load']:.1f}  "
                      f"CPU waited {r['pressure'] if r['pressure'] is None else format(r['pressure'], '.0%')}  "
                      f"{'halves ' + str(cs.get('halves')) + '  ' if r['crossover'] else ''}"
                      f"{shared}"
                      f"{r['seconds']:.0f} s", flush=True)
        aa = sum(1 for r in results["same"] if r["failed"])
        caught = sum(1 for r in results["slowed"] if "ab.changeset.p50_ratio" in r["failed"])
        wrong = sum(1 for r in results["slowed"] if set(r["failed"]) - {"ab.changeset.p50_ratio"})
        secs = [r["seconds"] for v in results.values() for r in v]
        print(f"\nA/A pairs flagged:                 {aa}/{args.pairs}  (want at most 1)")
        ratios = sorted(r["changeset"].get("ratio") or 0 for r in results["slowed"])
        print(f"changeset 20% slower ({args.slow_as}), flagged: {caught}/{args.pairs}  (want at least 19; measured "
              f"{ratios[0]:.2f}x-{ratios[-1]:.2f}x)")
        print(f"slowed runs flagging another action: {wrong}/{args.pairs}")
        press = sorted(r["pressure"] for v in results.values() for r in v if r["pressure"] is not None)
        if press:
            print(f"share of each run in which some task waited for a CPU: {press[0]:.0%}-{press[-1]:.0%} (above "
                  "ab.max_cpu_pressure a slower ratio is inconclusive)")
        print(f"one pair (one `hgharness load --baseline` run of {args.duration} s): {sum(secs) / len(secs):.0f} s "
              f"on average; busy neighbours: {args.busy}; slowed candidate and baseline: {args.slowed_on} servers")
    finally:
        for b in busy:
            b.terminate()
        stack.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
