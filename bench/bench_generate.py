"""Benchmark of the fixture generator, measured side by side in one run (issue 3, "Must show").

    .venv/bin/python bench/bench_generate.py [--commits 10000] [--cli-commits 200] [--big 100000] [--profile medium]

Prints, for `--commits` commits of the profile:
  - the generator's commits/s (fixtures.generate, in its own process);
  - `hg debugbuilddag '+N'` commits/s: a bare DAG, no files, the cost floor of Mercurial's commit path;
  - a loop of `hg commit` subprocesses in a working directory, commits/s extrapolated from `--cli-commits`;
  - the ratios (targets: generator >= 0.5x debugbuilddag and >= 100x the CLI loop);
and the memory of generating `--big` commits (target: under 1 GiB): the peak PSS of the generating process and
its two children together (sampled), and the peak RSS of each.

Each measurement is a whole child process (interpreter start included, as for `hg`), timed by wall clock and
by CPU time (user + system, from the child's rusage). On a shared machine the CPU figures are the steadier
ones; both are printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HG = str(Path(sys.executable).with_name("hg"))
# the tip, then the larger peak RSS (KiB) of the generator's two children (writer.py: filelogs, changesets)
GEN = ("import resource, sys; from hgharness.fixtures.generate import generate; "
       "r = generate(sys.argv[1], int(sys.argv[2]), 1, sys.argv[3]); "
       "print(r['tip'], resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


class PssSampler:
    """The peak of the summed PSS (proportional set size: a page shared by n processes counts 1/n in each) of a
    process and its children, sampled every `every` seconds: the memory the generator and the children it forks
    take together, which their peak RSS figures over-count (pages a fork shares appear in each)."""

    def __init__(self, pid: int, every: float = 0.2):
        import threading

        self.pid, self.every, self.peak, self.samples = pid, every, 0, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.stop.wait(self.every):
            total = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    try:
                        total += p.memory_full_info().pss
                    except psutil.Error:
                        pass
            except psutil.Error:
                return
            self.samples += 1
            self.peak = max(self.peak, total)

    def finish(self) -> int:
        self.stop.set()
        self.thread.join()
        return self.peak


def run_child(argv, cwd=None, env=None, pss: list | None = None) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds, peak RSS in KiB, stdout) of one child process, from its own rusage; pss: a list
    to append the peak summed PSS of the process and its children to (PssSampler)."""
    t0 = time.perf_counter()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        os.dup2(w, 1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        if cwd:
            os.chdir(cwd)
        os.execvpe(argv[0], argv, env or os.environ)
    os.close(w)
    sampler = PssSampler(pid) if pss is not None else None
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    if sampler is not None:
        pss.append(sampler.finish())  # (before the wait: a reaped process can no longer be read)
    _pid, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(map(str, argv))} failed (exit {os.waitstatus_to_exitcode(status)})")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, b"".join(chunks).decode()


def bench_generator(profile: str, n: int, work: Path, name: str = "gen", pss: list | None = None):
    """(wall, CPU of all its processes, (peak RSS of the generating process, the larger of its children's) in KiB,
    tip)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    wall, cpu, rss, out = run_child([sys.executable, "-c", GEN, profile, str(n), str(work / name)], env=env, pss=pss)
    tip, child_rss = out.split()
    # wait4 folds waited-for children into the figures: CPU is all processes', ru_maxrss the largest peak (the
    # generating process's); RUSAGE_CHILDREN in it gives the larger of its two children's (the filelog writer, the
    # changeset builder). Pages a fork shares count in each: PssSampler measures what they take together.
    return wall, cpu, (rss, int(child_rss)), tip


def bench_builddag(n: int, work: Path, name: str = "dag"):
    repo = work / name
    subprocess.run([HG, "init", str(repo)], check=True)
    return run_child([HG, "debugbuilddag", f"+{n}"], cwd=str(repo))


def bench_cli_loop(n: int, work: Path) -> tuple[float, float]:
    """n `hg commit` processes, each after a small edit; returns (wall, cpu) of the whole loop."""
    repo = work / "cli"
    subprocess.run([HG, "init", str(repo)], check=True)
    f = repo / "file.txt"
    wall = cpu = 0.0
    for i in range(n):
        with open(f, "a") as fh:
            fh.write(f"line {i}\n")
        w, c, _rss, _out = run_child([HG, "commit", "-A", "-q", "-m", f"commit {i}", "-u", "bench <b@example.org>",
                                      "-d", f"{1700000000 + i} 0"], cwd=str(repo))
        wall += w
        cpu += c
    return wall, cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="medium")
    ap.add_argument("--commits", type=int, default=10000)
    ap.add_argument("--cli-commits", type=int, default=200)
    ap.add_argument("--big", type=int, default=100000, help="commits for the peak-RSS run (0: skip)")
    ap.add_argument("--rounds", type=int, default=3, help="generator/debugbuilddag pairs (default 3; medians)")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="hgharness-bench-"))
    n = args.commits
    try:
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
              f"Python {sys.version.split()[0]}; {HG}", flush=True)
        # Rounds alternate (generator, debugbuilddag) so that a change in machine load hits both; nothing is
        # deleted until the end: on ext4, creating files soon after deleting many costs several times more
        # (the inode allocator skips recently deleted inodes), which would tax whichever side runs next.
        gens, dags = [], []
        for i in range(args.rounds):
            gw, gc, grss, tip = bench_generator(args.profile, n, work, f"gen{i}")
            print(f"generator ({args.profile}, {n} commits): {n / gw:8.0f} commits/s wall, {n / gc:8.0f} commits/s "
                  f"CPU   (tip {tip.strip()[:12]}, peak RSS {grss[0] / 1024:.0f} MiB, larger child {grss[1] / 1024:.0f} "
                  "MiB)", flush=True)
            dw, dc, _, _ = bench_builddag(n, work, f"dag{i}")
            print(f"hg debugbuilddag '+{n}':           {n / dw:8.0f} commits/s wall, {n / dc:8.0f} commits/s CPU",
                  flush=True)
            gens.append((gw, gc))
            dags.append((dw, dc))
        gw, gc = statistics.median(g[0] for g in gens), statistics.median(g[1] for g in gens)
        dw, dc = statistics.median(d[0] for d in dags), statistics.median(d[1] for d in dags)
        cw, cc = bench_cli_loop(args.cli_commits, work)
        print(f"hg commit loop ({args.cli_commits}, extrapolated): {args.cli_commits / cw:8.1f} commits/s wall, "
              f"{args.cli_commits / cc:8.1f} commits/s CPU", flush=True)
        print(f"ratio generator / debugbuilddag (medians of {args.rounds}): {dw / gw:6.2f}x wall, {dc / gc:6.2f}x CPU"
              "   (target >= 0.5x; the generator uses a process and threads besides its own, so CPU is the stricter one)")
        print(f"ratio generator / hg commit loop: {(n / gw) / (args.cli_commits / cw):6.0f}x wall, "
              f"{(n / gc) / (args.cli_commits / cc):6.0f}x CPU   (target >= 100x)", flush=True)
        if args.big:
            pss: list = []
            bw, bc, brss, _ = bench_generator(args.profile, args.big, work / "big", pss=pss)
            print(f"generator ({args.profile}, {args.big} commits): peak PSS of its three processes together "
                  f"{pss[0] / 2 ** 20:.0f} MiB (target < 1024 MiB; sampled every 0.2 s); peak RSS of the generating "
                  f"process {brss[0] / 1024:.0f} MiB, of the larger of its two children {brss[1] / 1024:.0f}; "
                  f"{args.big / bw:.0f} commits/s wall, {args.big / bc:.0f} commits/s CPU")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
