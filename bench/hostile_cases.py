"""Issue 16's table: case, exit status, time and the message, for bad input and hostile or broken sites on
loopback. A record for people, not a test (tests/ assert each case); run it on a quiet machine:

    .venv/bin/python bench/hostile_cases.py            # about 4 minutes
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import clean_env, copy_repos, hgweb  # noqa: E402
from tests.test_failing_site import answering  # noqa: E402

MEASURE = ("import resource, subprocess, sys\nr = subprocess.run(sys.argv[1:])\n"
           "print(f'peak-rss-kib {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr)\n"
           "sys.exit(r.returncode)\n")
rows: list[tuple[str, str, str, str]] = []


def case(name: str, args, env=None, cwd=None, pick=None, timeout=600):
    started = time.monotonic()
    p = subprocess.run([sys.executable, "-c", MEASURE, sys.executable, "-m", "hgharness", *map(str, args)],
                       cwd=cwd or ROOT, env=env or clean_env(), capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    took = time.monotonic() - started
    rss = int(re.search(r"peak-rss-kib (\d+)", p.stderr).group(1)) / 1024
    err = [ln for ln in p.stderr.splitlines() if not ln.startswith("peak-rss-kib")]
    lines = [ln for ln in p.stdout.splitlines() + err if ln.strip()]
    message = next((ln for ln in reversed(lines) if pick and re.search(pick, ln)), None) or (lines[-1] if lines else "")
    rows.append((name, str(p.returncode), f"{took:.1f} s, {rss:.0f} MiB", " ".join(message.split())[:170]))
    print(f"{name}: exit {p.returncode} in {took:.1f} s ({rss:.0f} MiB): {message[:170]}", flush=True)


def serve_answering(status: int, body: bytes):
    """The failing site of tests/test_failing_site.py (every GET answered `status` with `body`), on loopback."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), answering(status, body))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def main() -> None:
    from hgharness.fixtures.sets import DEFAULT_SET, build_set

    work = Path(tempfile.mkdtemp(prefix="hgharness-bench-"))
    try:
        seed = work / "seed"
        build_set(DEFAULT_SET, seed)
        elsewhere = work / "elsewhere"
        elsewhere.mkdir()
        case("1 load outside the checkout (relative runs dir)", ["load", "--duration", "5"], cwd=elsewhere,
             pick="hgharness load")
        for build in ("trickle", "huge_answers"):
            repos = copy_repos(seed, work / f"repos-{build}")
            with hgweb(repos, wrap=f"tests.hostile_builds:{build}", check_tracebacks=False) as s:
                env = clean_env(HGHARNESS_FIXTURE_DIR=s.repos_dir, HGHARNESS_USERNAME=s.username,
                                HGHARNESS_PASSWORD=s.password, HGHARNESS_REPOS="small")
                bounds = ["--target", s.url, "--request-deadline", 3, "--max-response-mb", 16,
                          "--runs-dir", work / "runs"]
                item = "2 trickle 1 B/s" if build == "trickle" else "3 2 GiB answers"
                mixes = work / "mixes.toml"
                from tests.ab_builds import one_class_mix

                mixes.write_text(one_class_mix("logs", "AnonymousBrowser", {"log": 1, "summary": 1}))
                case(f"{item}: check", ["check", *bounds], env=env, pick="FAILED|within|bound")
                case(f"{item}: load", ["load", "--duration", 10, "--users", 4, "--spawn-rate", 4, "--mixes", mixes,
                                       "--mix", "logs", *bounds], env=env, pick="failure x|within|bound")
                case(f"{item}: traffic", ["traffic", "--ops", 4, "--cloners", 1, "--pullers", 1, "--pushers", 1,
                                          *bounds], env=env, pick="FAILED|within|bound")
        cfg = work / "targets.toml"
        for line, key in (('allow_load = "false"', "allow_load"), ('insecure = "false"', "insecure"),
                          ("url = 5", "url")):
            url = "" if key == "url" else 'url = "http://127.0.0.1:9/"\n'
            cfg.write_text(f"[targets.staging]\n{url}{line}\n")
            case(f"4 targets.toml {line}", ["run", "--config", cfg, "--target", "staging"])
        for status, body in ((500, b"Internal Server Error"), (200, b"")):
            server, url = serve_answering(status, body)
            try:
                for cmd in (["check"], ["traffic", "--ops", 3]):
                    case(f"6 HTTP {status}{' empty' if not body else ''} everywhere: {cmd[0]}",
                         [*cmd, "--target", url, "--runs-dir", work / "runs"])
            finally:
                server.shutdown()
                server.server_close()
        case("8 check -n abc", ["check", "-n", "abc", "--target", "http://127.0.0.1:9/"])
        case("8 serve --port 99999", ["serve", "--port", "99999"])
        with hgweb(copy_repos(seed, work / "repos-8")) as s:
            case("8 a repository the site lacks", ["check", "--target", s.url, "--runs-dir", work / "runs"],
                 env=clean_env(HGHARNESS_REPOS="nosuchrepo"))
            case("8 --site kallithea at hgweb", ["check", "--site", "kallithea", "--target", s.url,
                                                 "--runs-dir", work / "runs"])
            case("8 wrong password for check", ["check", "--target", s.url, "--username", s.username,
                                                "--runs-dir", work / "runs", "-m", "smoke"],
                 env=clean_env(HGHARNESS_PASSWORD="wrong-password"))
            case("8 unreachable target in traffic", ["traffic", "--target", "http://127.0.0.1:9/", "--ops", 2])
        case("10 check --help: pytest arguments", ["check", "--help"], pick="pytest|after")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n| case | exit | time, peak RSS | message |\n| --- | --- | --- | --- |")
    for r in rows:
        print("| " + " | ".join(x.replace("|", "\\|") for x in r) + " |")


if __name__ == "__main__":
    os.environ["PYTHONPATH"] = str(ROOT)
    main()
