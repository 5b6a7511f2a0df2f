"""Capacity of the healthy embedded hgweb, and of builds holding a site-wide lock, measured side by side.

One healthy embedded hgweb (the baseline) and, per lock time, one whose every request holds a site-wide lock
(tests/ab_builds.py:site_lock, AB_LOCK_MS). Each row is one real `hgharness load --shape capacity --target LOCKED
--baseline HEALTHY` run: the same capacity search (1, 2, 4 ... --users readers asking back to back, an equal slice
of --duration each) against the locked build, then against the healthy one, judged by the capacity_ratio gate.

    .venv/bin/python bench/bench_capacity.py [--locks 30,40,50] [--users 16] [--duration 60] [--mix cheap]

--mix cheap (the default): raw files and JSON logs, which a healthy hgweb serves far faster than a lock of 30-50 ms
lets any build (a lock caps the site at 1000 / LOCK_MS requests/s; on a mix of costly pages such as archives and
annotations a 2-core machine's healthy build carries less than that, and the lock then costs nothing: measured
27.3 healthy vs 28.5 locked req/s for 30 ms on `browse-heavy`). Any mix of load/mixes.toml can be named instead.

Prints per lock: the healthy capacity (requests/s within the default capacity SLO) and its knee, the locked
build's, their ratio, and the gate's verdict. The issue asks for at most 0.5x and a failed gate.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hgharness.fixtures.sets import DEFAULT_SET, build_set  # noqa: E402
from tests.ab_builds import one_class_mix  # noqa: E402
from tests.conftest import copy_repos, hgweb  # noqa: E402

CHEAP_MIX = one_class_mix("cheap", "CIBot", {"json_log": 3, "raw_file": 3})

PASSWORD = "bench-capacity-secret"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--locks", default="30,40,50", help="lock hold times in ms (default 30,40,50)")
    ap.add_argument("--users", type=int, default=16)
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--mix", default="cheap")
    ap.add_argument("--workers", type=int, default=4, help="gunicorn workers of each server (default 4)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers (the with blocks) when killed
    work = Path(tempfile.mkdtemp(prefix="hgharness-bench-capacity-"))
    try:
        seed = work / "seed"
        build_set(DEFAULT_SET, seed)
        mixes = []
        if args.mix == "cheap":
            (work / "mixes.toml").write_text(CHEAP_MIX)
            mixes = ["--mixes", str(work / "mixes.toml")]
        with hgweb(copy_repos(seed, work / "healthy-repos"), workers=args.workers, password=PASSWORD) as healthy:
            rows = [measure(lock, healthy, seed, work, mixes, args) for lock in map(float, args.locks.split(","))]
        print("\nlock ms  healthy req/s  knee  locked req/s  ratio  gate")
        for lock, base, cand, gate in rows:
            print(f"{lock:>7g}  {base['capacity_rps']:>13.1f}  {base.get('knee_users') or '-':>4}  "
                  f"{cand['capacity_rps']:>12.1f}  {gate.get('observed')!s:>5}  {gate['status']}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(lock: float, healthy, seed: Path, work: Path, mixes: list, args) -> tuple:
    """One `load --shape capacity` run of a build locked `lock` ms against the healthy one; prints its row."""
    os.environ["AB_LOCK_MS"] = f"{lock:g}"  # read by the locked build's workers when they start
    run_id = f"lock-{lock:g}"
    with hgweb(copy_repos(seed, work / f"{run_id}-repos"), workers=args.workers, password=PASSWORD,
               wrap="tests.ab_builds:site_lock") as locked:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HGHARNESS_")}
        env.update(HGHARNESS_FIXTURE_DIR=str(locked.repos_dir), PYTHONPATH=str(ROOT))
        t0 = time.monotonic()
        p = subprocess.run([sys.executable, "-m", "hgharness", "load", "--target", locked.url, "--baseline",
                            healthy.url, "--shape", "capacity", "--mix", args.mix, *mixes, "--users", str(args.users),
                            "--duration", str(args.duration), "--runs-dir", str(work / "runs"), "--run-id",
                            run_id], env=env, capture_output=True, text=True, cwd=str(ROOT),
                           timeout=3 * args.duration + 400)
        took = time.monotonic() - t0
    try:
        summary = json.loads((work / "runs" / run_id / "summary.json").read_text())
    except OSError:
        raise SystemExit(f"{run_id}: no summary (exit {p.returncode}): {p.stderr[-800:]}") from None
    cap = next(st for st in summary["stages"] if st["name"] == "load")["capacity"]
    gate = next(g for g in summary["slo"] if g["gate"] == "capacity.capacity_ratio")
    cand, base = cap["candidate"], cap["baseline"]
    print(f"lock {lock:>4g} ms: healthy {base['capacity_rps']:6.1f} req/s (at {base['capacity_users']} users,"
          f" knee {base.get('knee_users') or '-'}), locked {cand['capacity_rps']:6.1f} req/s (knee "
          f"{cand.get('knee_users') or '-'}): {gate.get('observed')}x, gate {gate['status']}, exit "
          f"{p.returncode}, {took:.0f} s", flush=True)
    for lv in base["levels"]:
        print(f"    healthy {lv['users']:>3} users: {lv['rps']:6.1f} req/s, p95 {lv['p95_ms'] or 0:5.0f} ms")
    return lock, base, cand, gate


if __name__ == "__main__":
    main()
