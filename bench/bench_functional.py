"""Wall time of the functional suite (suites/functional) on the embedded target: serial vs `-n 2`, in one run.

Both modes run the same flows against the same server, alternating (serial, parallel, serial, parallel ...) so
that a change in machine load hits both; each run is the whole child pytest (start-up, one browser per worker,
every flow). Every run must pass, or the figure means nothing. Prints each run, the medians and the speedup.

    .venv/bin/python bench/bench_functional.py [--rounds 2] [--set NAME | --repos-dir DIR] [--workers 2]
                                               [--chromium /usr/bin/chromium-headless-shell]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)


class CpuMeter:
    """CPU seconds used by every process under this one (pytest, its workers, chromedriver, Chromium, the server),
    sampled a few times a second: a figure the machine's other load does not inflate the way it does wall time."""

    def __init__(self):
        import psutil

        self.psutil, self.seen, self.stop = psutil, {}, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        for p in self.psutil.Process().children(recursive=True):
            try:
                t = p.cpu_times()
                self.seen[(p.pid, p.create_time())] = t.user + t.system
            except self.psutil.Error:
                pass

    def _run(self):
        while not self.stop.wait(0.2):
            self._sample()

    def __enter__(self):
        self._sample()
        self.start = dict(self.seen)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self._sample()
        self.used = sum(v - self.start.get(k, 0.0) for k, v in self.seen.items())


def timed_run(target, run_dir: Path, workers: int) -> tuple[float, float]:
    from hgharness.suites.functional.stage import run_functional

    started = time.monotonic()
    with CpuMeter() as cpu:
        stage = run_functional(target, run_dir, workers=workers, progress=lambda msg: None)
    elapsed = time.monotonic() - started
    c = stage["counts"]
    if stage["exit_code"] != 0:
        failed = "; ".join(f"{t['id']}: {t['message'][:300]}" for t in stage["tests"] if t["outcome"] in ("failed", "error"))
        raise SystemExit(f"the suite did not pass with -n {workers}: {c} {stage['detail']} {failed}")
    print(f"  -n {workers}: {elapsed:6.1f}s wall, {cpu.used:6.1f} CPU-s  ({c['passed']} passed, {c['skipped']} skipped, "
          f"load average {os.getloadavg()[0]:.1f})", flush=True)
    return elapsed, cpu.used


def main() -> int:
    from hgharness.embedded import EmbeddedHgweb
    from hgharness.fixtures.sets import DEFAULT_SET, build_set
    from hgharness.target import Target

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=2, help="serial+parallel pairs (default 2)")
    p.add_argument("--set", default=DEFAULT_SET, help=f"fixture set to serve (default {DEFAULT_SET})")
    p.add_argument("--repos-dir", help="serve these repositories instead of building a set")
    p.add_argument("--workers", type=int, default=2, help="pytest-xdist workers of the parallel mode (default 2)")
    p.add_argument("--chromium", help="browser binary for both modes (e.g. /usr/bin/chromium-headless-shell)")
    args = p.parse_args()
    if args.chromium:
        os.environ["HGHARNESS_CHROMIUM"] = args.chromium

    with tempfile.TemporaryDirectory(prefix="hgharness-bench-functional-") as tmp:
        tmp = Path(tmp)
        repos = Path(args.repos_dir) if args.repos_dir else tmp / "repos"
        if not args.repos_dir:
            build_set(args.set, repos)
        names = sorted(d.name for d in repos.iterdir() if (d / ".hg").is_dir())
        with EmbeddedHgweb(repos, workers=4) as server:
            target = Target(url=server.url, fixture_dir=str(repos), repos=names, embedded=True)
            print(f"functional suite on {server.url} ({', '.join(names)}); {os.cpu_count()} CPUs, "
                  f"load average {os.getloadavg()[0]:.1f} at start", flush=True)
            serial, parallel = [], []
            for i in range(args.rounds):
                serial.append(timed_run(target, tmp / f"serial-{i}", 1))
                parallel.append(timed_run(target, tmp / f"parallel-{i}", args.workers))
            assert not server.tracebacks(), "the server logged tracebacks"
    s, q = (statistics.median(w for w, _ in serial), statistics.median(w for w, _ in parallel))
    cs, cq = (statistics.median(c for _, c in serial), statistics.median(c for _, c in parallel))
    print(f"median wall: serial {s:.1f}s, -n {args.workers} {q:.1f}s: speedup {s / q:.2f}x")
    print(f"median CPU: serial {cs:.1f} CPU-s, -n {args.workers} {cq:.1f} CPU-s (the parallel run does "
          f"{cq / cs:.2f}x the work: a browser, a pytest and the fixture facts per worker)")
    cores = os.cpu_count() or 1
    busy = cs / s
    print(f"serial run keeps {busy:.2f} of {cores} cores busy (browser, server and pytest overlap): with no "
          f"per-worker overhead at all, -n {args.workers} could be at most {min(args.workers, cores / busy):.2f}x "
          f"faster; with its measured extra work, at most {min(args.workers, cores / busy / (cq / cs)):.2f}x")
    print(f"(load average {os.getloadavg()[0]:.1f} at end; wall figures mean little when that exceeds "
          f"{os.cpu_count()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
