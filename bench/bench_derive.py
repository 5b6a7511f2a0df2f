"""`hgharness load derive` on a big access log: lines per second and peak memory (issue 22, "Must show").

Writes a synthetic nginx "combined" log of --size bytes (default 1 GiB) in a temp dir (removed at the end): days
of a busy site, tens of thousands of clients (browsers, API scripts, CI pollers, Mercurial clients cloning,
pulling and pushing) in interleaved visits, a daily curve, a few malformed lines. Then derives a mix from it in a child
process (`hgharness load derive LOG -o MIX`, interpreter start included) and prints its lines/s, by wall clock
and by CPU time, and its peak RSS from the child's own rusage. Targets: >= 200k lines/s, < 300 MiB.

    .venv/bin/python bench/bench_derive.py [--size 1G] [--clients 50000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_LINES_S = 200_000
TARGET_RSS_MIB = 300
START = 1_764_000_000 - 1_764_000_000 % 86400  # a midnight, UTC


def parse_size(text: str) -> int:
    units = {"k": 2**10, "m": 2**20, "g": 2**30}
    t = text.strip().lower().rstrip("b").rstrip("i")
    if t and t[-1] in units:
        return int(float(t[:-1]) * units[t[-1]])
    return int(t)


def write_log(path: Path, size: int, clients: int, seed: int = 22) -> int:
    """A synthetic combined log of about `size` bytes; its line count."""
    rng = random.Random(seed)
    repos = [f"repo{i:03d}" for i in range(60)]
    hot = [r for r in repos for _ in range(max(1, 60 // (repos.index(r) + 1)))]  # a few hot repositories
    pages = ["/{r}/", "/{r}/log", "/{r}/shortlog", "/{r}/graph", "/{r}/rev/{n}", "/{r}/file/{n}/src/mod{k}.py",
             "/{r}/file/{n}/src", "/{r}/raw-file/{n}/setup.py", "/{r}/annotate/{n}/src/mod{k}.py", "/{r}/tags",
             "/{r}/branches", "/{r}/archive/tip.tar.gz", "/", "/static/style-paper.css"]
    api = ["/{r}/json-log", "/{r}/json-rev/{n}?access_token=t{k}", "/{r}/json-tags", "/{r}/json-branches"]
    ci = ["/{r}/json-log", "/{r}/json-log", "/{r}/atom-log", "/{r}/raw-file/tip/build.sh", "/{r}/archive/tip.zip"]
    hg = [("capabilities", 560), ("batch", 125), ("getbundle", 240), ("capabilities", 560), ("batch", 125),
          ("getbundle", 3_500_000), ("capabilities", 560), ("batch", 125), ("listkeys", 15), ("unbundle", 231)]

    def pool(templates, n):
        return [rng.choice(templates).format(r=rng.choice(hot), n=f"{rng.getrandbits(48):012x}", k=rng.randrange(50))
                for _ in range(n)]

    pools = {"browser": pool(pages, 4000), "api": pool(api, 2000), "ci": pool(ci, 500)}
    people = []
    for i in range(clients):
        kind = rng.choices(("browser", "api", "ci", "hg"), (70, 10, 12, 8))[0]
        addr = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        ua = {"browser": f"Mozilla/5.0 (X11; Linux x86_64; rv:{100 + i % 40}.0) Gecko/20100101 Firefox/{100 + i % 40}.0",
              "api": "python-requests/2.32.3", "ci": f"Jenkins/2.{400 + i % 50}",
              "hg": "mercurial/proto-1.0 (Mercurial 6.8)"}[kind]
        people.append((kind, f'{addr} - - [', f'" "-" "{ua}"\n', [0]))
    lengths = {"browser": 12, "api": 40, "ci": 30, "hg": 10}  # mean requests of a visit

    def visit():
        who = people[rng.randrange(clients)]
        return [who, max(1, int(rng.expovariate(1 / lengths[who[0]])))]

    active = [visit() for _ in range(400)]  # visits under way, their requests interleaved
    written = lines = 0
    t = START
    with open(path, "w", encoding="latin-1", buffering=1 << 20) as f:
        while written < size:
            hour = (t % 86400) / 3600
            rate = 25 + 55 * math.exp(-((hour - 14) ** 2) / 18)  # lines a second: a working day's hump
            n = int(rate) + (rng.random() < rate % 1)
            stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(t))
            chunk = []
            for _ in range(n):
                slot = rng.randrange(len(active))
                v = active[slot]
                kind, head, tail, state = v[0]
                v[1] -= 1
                if v[1] <= 0:
                    active[slot] = visit()
                if kind == "hg":
                    cmd, size_b = hg[state[0] % len(hg)]
                    state[0] += 1
                    method = "POST" if cmd == "unbundle" else "GET"
                    req = f"{method} /{hot[hash(head) % len(hot)]}?cmd={cmd} HTTP/1.1"
                    chunk.append(f'{head}{stamp}] "{req}" 200 {size_b}{tail}')
                else:
                    path_ = rng.choice(pools[kind])
                    chunk.append(f'{head}{stamp}] "GET {path_} HTTP/1.1" 200 {rng.randrange(200, 40000)}{tail}')
            if rng.random() < 0.001:
                chunk.append("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 a TLS hello on the plain port\n")
            text = "".join(chunk)
            f.write(text)
            written += len(text)
            lines += len(chunk)
            t += 1
    return lines


def run_child(argv) -> tuple[float, float, int, int, str]:
    """(wall s, CPU s, peak RSS KiB, exit status, output) of one child process, from its own rusage."""
    import subprocess

    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1G", help="log size: 1G (default), 200M ...")
    ap.add_argument("--clients", type=int, default=50_000, help="distinct clients (address + agent)")
    ap.add_argument("--keep", help="write the log and the mix here and keep them (default: a temp dir, removed)")
    args = ap.parse_args(argv)
    size = parse_size(args.size)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="hgharness-bench-derive-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        log = work / "access.log"
        t0 = time.perf_counter()
        lines = write_log(log, size, args.clients)
        gen = time.perf_counter() - t0
        real = log.stat().st_size
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        print(f"synthetic log: {real / 2**20:.0f} MiB, {lines} lines, {args.clients} clients (written in {gen:.0f} s)")
        wall, cpu, rss_kib, code, out = run_child([sys.executable, "-m", "hgharness", "load", "derive", str(log),
                                                   "-o", str(work / "bench.toml"), "--explain"])
        if code != 0:
            print(out)
            print(f"derive failed with status {code}")
            return 1
        print("\n".join("  " + ln for ln in out.splitlines()[:12]))
        rss = rss_kib / 1024
        print(f"derive: {wall:6.1f} s wall, {cpu:6.1f} s CPU (interpreter start included)")
        print(f"lines/s:  {lines / wall:10.0f} wall, {lines / cpu:10.0f} CPU   (target >= {TARGET_LINES_S})"
              f"  {'OK' if lines / wall >= TARGET_LINES_S else 'BELOW'}")
        print(f"peak RSS: {rss:10.0f} MiB                     (target < {TARGET_RSS_MIB} MiB)"
              f"  {'OK' if rss < TARGET_RSS_MIB else 'ABOVE'}")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
