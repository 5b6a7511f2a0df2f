"""Client CPU per push: the harness's in-process client against `hg push` subprocesses, side by side in one run.

Both sides push the same commits (same changes on copies of the same repository, one push per commit) to the
embedded hgweb target. CPU is measured with getrusage: RUSAGE_SELF around the in-process pushes (the server
runs in other processes), RUSAGE_CHILDREN around the `hg push` processes (each waited for). The commits are
made before the timed part on both sides. Target: the harness at most 0.25x the CPU of `hg push`.

    .venv/bin/python bench/bench_push.py [--pushes 30]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def cpu(who) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def make_commits(local, n: int, seed: int) -> list[bytes]:
    """n commits in a chain on top of the tip of default, made through the same change maker as traffic."""
    from hgharness.fixtures.traffic_changes import change_maker
    from hgharness.hgclient import Developer, commit

    rng = random.Random(seed)
    make = change_maker(rng)
    dev = Developer(None, "", local, make, rng, b"bench <bench@hgharness.invalid>", record=None)
    parent, nodes = dev.base(), []
    for i in range(n):
        parent = commit(local, parent, make(local[parent], rng), dev.user, date=(1700000000 + i, 0))
        nodes.append(parent)
    return nodes


def hg_executable() -> str:
    exe = Path(sys.executable).with_name("hg")
    found = str(exe) if exe.exists() else shutil.which("hg")
    if not found:
        sys.exit("bench_push: no `hg` executable next to this Python or on PATH")
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pushes", type=int, default=30)
    args = ap.parse_args()

    from hgharness.embedded import EmbeddedHgweb
    from hgharness.fixtures.sets import build_set
    from hgharness.hgclient import HgClient
    from hgharness.target import Target

    work = Path(tempfile.mkdtemp(prefix="hgharness-bench-push-"))
    try:
        seed_dir = work / "seed"
        name = build_set("seed", seed_dir)[0]
        repos = work / "repos"
        repos.mkdir()
        for side in ("inproc", "subproc"):
            shutil.copytree(seed_dir / name, repos / side, symlinks=True)
        with EmbeddedHgweb(repos, workers=2) as server:
            target = Target(url=server.url, username=server.username, password=server.password, allow_load=True)
            client = HgClient(target)
            res_a, local_a = client.clone("inproc", work / "a")
            res_b, local_b = client.clone("subproc", work / "b")
            assert res_a.ok and res_b.ok, (res_a, res_b)
            nodes_a = make_commits(local_a, args.pushes, seed=7)
            nodes_b = make_commits(local_b, args.pushes, seed=7)

            # in-process: one HgClient.push per commit (a new peer each time, as `hg push` opens one)
            wall0, cpu0 = time.perf_counter(), cpu(resource.RUSAGE_SELF)
            for node in nodes_a:
                res = client.push(local_a, "inproc", node)
                assert res.ok, res
            inproc_cpu, inproc_wall = cpu(resource.RUSAGE_SELF) - cpu0, time.perf_counter() - wall0

            # subprocesses: `hg push -r NODE URL`, credentials from a private hgrc (never on the command line)
            hgrc = work / "auth.hgrc"
            fd = os.open(hgrc, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(f"[ui]\ninteractive = false\n[auth]\nb.prefix = {server.url}\nb.username = {server.username}\n"
                        f"b.password = {server.password.reveal()}\n")
            env = {k: v for k, v in os.environ.items() if not k.startswith("HG")}
            env.update(HGRCPATH=str(hgrc), HGPLAIN="1", HOME=str(work))
            hg, url = hg_executable(), server.url + "subproc"
            wall0, cpu0 = time.perf_counter(), cpu(resource.RUSAGE_CHILDREN)
            for node in nodes_b:
                subprocess.run([hg, "push", "-q", "-R", str(work / "b"), "-r", node.hex(), url], env=env, check=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            sub_cpu, sub_wall = cpu(resource.RUSAGE_CHILDREN) - cpu0, time.perf_counter() - wall0

            for repo, nodes in (("inproc", nodes_a), ("subproc", nodes_b)):
                kres, known = client.known(repo, nodes)
                assert kres.ok and all(known), f"{repo}: not every pushed node is on the server"
            assert not server.tracebacks(), server.tracebacks()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    n = args.pushes
    ratio = inproc_cpu / sub_cpu
    print(f"pushes per side: {n} (same commits, embedded hgweb, {os.cpu_count()} CPUs)")
    print(f"  harness in-process client: {inproc_cpu / n * 1000:7.1f} ms CPU/push   {inproc_wall / n * 1000:7.1f} ms wall/push")
    print(f"  `hg push` subprocesses:    {sub_cpu / n * 1000:7.1f} ms CPU/push   {sub_wall / n * 1000:7.1f} ms wall/push")
    print(f"  client CPU ratio harness / hg push: {ratio:.3f}x (target <= 0.25x): {'OK' if ratio <= 0.25 else 'OVER'}")
    return 0 if ratio <= 0.25 else 1


if __name__ == "__main__":
    sys.exit(main())
