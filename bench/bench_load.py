"""Load generator efficiency: requests per CPU-second of the harness's AnonymousBrowser vs a bare FastHttpUser.

One run, one fast local endpoint (nginx answering every path with a tiny 200 when /usr/sbin/nginx exists, else a
minimal WSGI app under gunicorn), runs interleaved (bare, harness, bare, harness...) so machine noise hits both
alike. The harness side is the real thing: load/locustfile.py with its catalog of fixture URLs, weighted actions,
TLS settings, raw sample recording and rate integration; only the pace is 0 (no pause), as in the bare file.
CPU is the Locust process's user+system time from test_start to test_stop (bench/load_cpu_probe.py, the same
launcher for both sides); the figure with start-up included is printed too. wrk's figure is printed for
reference (apt-get install wrk).

    .venv/bin/python bench/bench_load.py [--seconds 8] [--users 20] [--rounds 4]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hgharness.embedded import free_port  # noqa: E402
from hgharness.procs import ManagedProcess, wait_until  # noqa: E402

NGINX = "/usr/sbin/nginx"
BODY = b"ok\n"


def fast_app(environ, start_response):  # the gunicorn fallback endpoint
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))])
    return [BODY]


def start_endpoint(work: Path):
    port = free_port()
    if os.access(NGINX, os.X_OK):
        (work / "logs").mkdir(parents=True, exist_ok=True)
        conf = work / "nginx.conf"
        conf.write_text(f"""worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/logs/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {work}/tmp; proxy_temp_path {work}/tmp; fastcgi_temp_path {work}/tmp;
    uwsgi_temp_path {work}/tmp; scgi_temp_path {work}/tmp;
    server {{ listen 127.0.0.1:{port}; location / {{ default_type text/plain; return 200 "ok\\n"; }} }}
}}
""")
        proc = ManagedProcess([NGINX, "-p", str(work), "-c", str(conf), "-g", "daemon off;"], "nginx",
                              stderr_path=work / "nginx.log")
        kind = "nginx (return 200)"
    else:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        proc = ManagedProcess([str(Path(sys.executable).with_name("gunicorn")), "--bind", f"127.0.0.1:{port}",
                               "--workers", "1", "--no-control-socket", "bench.bench_load:fast_app"], "gunicorn",
                              env=env, cwd=str(ROOT), stderr_path=work / "gunicorn.log")
        kind = "gunicorn minimal WSGI app"
    url = f"http://127.0.0.1:{port}/"
    import requests

    wait_until(lambda: _up(requests, url), what=f"endpoint {url}")
    return proc, url, kind


def _up(requests, url):
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def locust_run(kind: str, url: str, work: Path, seconds: int, users: int, catalog: Path) -> dict:
    """One Locust run through load_cpu_probe.py: requests, CPU-s of the test itself, CPU-s of the whole process."""
    out = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=work))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HGHARNESS_")}
    env.update(PYTHONPATH=str(ROOT), BENCH_CPU_OUT=str(out / "cpu.json"))
    argv = [sys.executable, str(ROOT / "bench" / "load_cpu_probe.py"), "--headless", "--only-summary",
            "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", url, "--exit-code-on-error", "0"]
    if kind == "bare":
        argv += ["-f", str(ROOT / "bench" / "load_bare_locustfile.py")]
    else:
        mixes = out / "mixes.toml"
        mixes.write_text('[pace]\nAnonymousBrowser = 0\n[mixes.bench]\nusers = { AnonymousBrowser = 1 }\n')
        env.update(HGHARNESS_TARGET=url, HGHARNESS_LOAD_CATALOG=str(catalog), HGHARNESS_LOAD_MIX="bench",
                   HGHARNESS_LOAD_MIXES=str(mixes), HGHARNESS_LOAD_OUT=str(out))
        argv += ["-f", str(ROOT / "load" / "locustfile.py"), "AnonymousBrowser"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, env=env, cwd=str(ROOT), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    marks = json.loads((out / "cpu.json").read_text())
    if marks["failures"]:
        raise SystemExit(f"{kind}: {marks['failures']} failed requests; the endpoint is not serving")
    if kind == "harness":
        lines = sum(1 for p in (out / "samples").glob("*.jsonl") for _ in open(p))
        assert lines == marks["requests"], "the harness must have recorded every request's latency"
    return {"requests": marks["requests"], "cpu": marks["cpu_stop"] - marks["cpu_start"],
            "cpu_total": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}


def wrk_run(url: str, seconds: int, users: int) -> tuple[float, float] | None:
    wrk = shutil.which("wrk")
    if not wrk:
        return None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([wrk, "-t1", f"-c{users}", f"-d{seconds}s", url + "demo/log"], capture_output=True,
                         text=True, timeout=120).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    m = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return (int(m.group(1)) / cpu if m and cpu else 0.0), float(rps.group(1)) if rps else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    from hgharness.fixtures.sets import SETS, build_set
    from hgharness.load.catalog import catalog_for, write_catalog
    from hgharness.target import Target

    work = Path(tempfile.mkdtemp(prefix="hgharness-bench-load-"))
    try:
        repos = work / "repos"
        build_set("seed" if "seed" in SETS else next(iter(SETS)), repos)
        proc, url, kind = start_endpoint(work / "endpoint")
        try:
            catalog = write_catalog(catalog_for(Target(url=url, fixture_dir=str(repos))), work / "catalog.json")
            figures = {"bare": [], "harness": []}
            totals = {"bare": [], "harness": []}
            for _ in range(args.rounds):
                for side in ("bare", "harness"):
                    r = locust_run(side, url, work, args.seconds, args.users, catalog)
                    figures[side].append(r["requests"] / r["cpu"])
                    totals[side].append(r["requests"] / r["cpu_total"])
                    print(f"  {side:<8} {r['requests']:>7} requests, {r['cpu']:6.2f} CPU-s in the test "
                          f"({r['cpu_total']:5.2f} with start-up): {r['requests'] / r['cpu']:8.0f} per CPU-second",
                          flush=True)
            wrk = wrk_run(url, args.seconds, args.users)
        finally:
            proc.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bare, harness = statistics.median(figures["bare"]), statistics.median(figures["harness"])
    print(f"endpoint: {kind}, {args.users} users, {args.seconds}s per run, {args.rounds} rounds (median)")
    print(f"bare FastHttpUser:          {bare:8.0f} requests per CPU-second")
    print(f"harness AnonymousBrowser:   {harness:8.0f} requests per CPU-second")
    print(f"ratio harness / bare:       {harness / bare:8.2f}x  (target >= 0.90x)")
    tb, th = statistics.median(totals["bare"]), statistics.median(totals["harness"])
    print(f"  counting start-up too:    {tb:8.0f} vs {th:.0f}: {th / tb:.2f}x (the harness loads its catalog)")
    if wrk:
        print(f"wrk (reference):            {wrk[0]:8.0f} requests per CPU-second ({wrk[1]:.0f} requests/s)")
    else:
        print("wrk (reference):            not installed (apt-get install wrk)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
