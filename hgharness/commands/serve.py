"""Start an embedded target on loopback and keep it running until Ctrl-C or SIGTERM.

Prints the URL and the push user; the password is written to a private file (mode 0600) whose path is
printed, never the password itself. Example:

    hgharness serve --port 8000
    hg clone http://127.0.0.1:8000/demo
    hg push --config auth.x.prefix=http://127.0.0.1:8000 --config auth.x.username=hgharness \\
            --config auth.x.password="$(cat PASSWORD_FILE)"
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

from hgharness.errors import HarnessError
from hgharness.front import add_front_arguments
from hgharness.options import port_number
from hgharness.secrets import redact
from hgharness.session import start_embedded


def add_arguments(p):
    p.add_argument("--site", default="hgweb", help="hgweb (default) or kallithea (see README, Kallithea)")
    p.add_argument("--port", type=port_number, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (at least 2; default 2)")
    p.add_argument("--set", dest="fixture_set", default=None, help="fixture set to serve (default: the standard set)")
    p.add_argument("--repos-dir", help="serve these repositories instead of a fixture set")
    p.add_argument("--user", default="hgharness", help="user allowed to push (default hgharness)")
    p.add_argument("--password-file", help="read the push password from this file "
                   "(default: HGHARNESS_PASSWORD, else a random one written to a private file)")
    p.add_argument("--workdir", help="keep server state and logs here (default: a temp dir, removed at exit)")
    p.add_argument("--access-log", help="hgweb: write gunicorn's default-format access log to this file (what "
                   "`hgharness load derive` reads)")
    add_front_arguments(p)  # --front nginx, --tls, --prefix /hg


def main(args) -> int:
    if args.workers < 2:
        raise HarnessError("--workers must be at least 2")
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="hgharness-serve-"))
    if args.workdir:
        reuse_workdir(args, workdir)
    try:
        server, names, repos_dir = start_embedded(args, args.layers, workdir)
    except BaseException:  # bad options, a server that did not start: nothing of ours stays in /tmp
        if not args.workdir:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
        raise
    try:
        pw_file = workdir / "password"
        fd = os.open(pw_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(server.password.reveal() + "\n")
        print(f"{getattr(server, 'site', 'hgweb')} serving {len(names)} repositories at {server.url}", flush=True)
        print(f"  repositories: {', '.join(names)} (in {repos_dir})")
        print(f"  push user: {server.username}; password in {pw_file}")
        if getattr(server, "api_key", None):  # Kallithea: the admin's API key, also in a private file
            key_file = workdir / "api_key"
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(server.api_key.reveal() + "\n")
            print(f"  admin API key in {key_file}")
        print(f"  logs: {server.error_log}")
        if hasattr(server, "describe_front"):
            print(f"  front: {server.describe_front()} ({server.front.process_name} logs in {server.front.workdir})")
        for i, url in enumerate(getattr(server, "backends", None) or [], 1):
            print(f"  backend node{i}: {url}")
        if getattr(server, "ca_file", None):
            print(f"  TLS: private CA certificate {server.ca_file}; clients need it: --ca-bundle {server.ca_file}, "
                  f"hg --config web.cacerts={server.ca_file}")
        print(f"  URL={server.url}", flush=True)
        print("Ctrl-C to stop.", flush=True)
        stop = threading.Event()
        while not stop.wait(1.0):
            if not server.alive():
                raise HarnessError(died_message(server, kept=bool(args.workdir)))
    except KeyboardInterrupt:
        print("stopping ...", flush=True)
    finally:
        server.stop()
        if not args.workdir:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def reuse_workdir(args, workdir: Path) -> None:
    """A --workdir that holds repositories from an earlier serve is served again, pushes and all (the fixture set
    is built only into an empty one). The set it was built from is recorded, so a different --set is refused."""
    repos, marker = workdir / "repos", workdir / "fixture-set"
    wanted = args.fixture_set or "standard"
    if args.repos_dir:
        return
    if not repos.is_dir() or not any(repos.iterdir()):
        workdir.mkdir(parents=True, exist_ok=True)
        marker.write_text(wanted + "\n")
        return
    built = marker.read_text().strip() if marker.is_file() else None
    if args.fixture_set and built and built != args.fixture_set:
        raise HarnessError(f"--workdir {workdir} holds fixture set {built!r}, not {args.fixture_set!r}: "
                           "pass another --workdir for a fresh set")
    args.repos_dir = str(repos)
    print(f"reusing the repositories in {repos}", flush=True)


def died_message(server, kept: bool, lines: int = 10) -> str:
    """One line for a server that died: its exit, where its logs are (or that they go with the temp dir), and the
    last lines of its error logs, printed to stderr first so they outlive the temp dir."""
    import sys

    logs = [Path(p) for p in server.log_files() if "access" not in Path(p).name and Path(p).is_file()]
    last = ""
    for log in logs:
        tail = [line for line in log.read_text(errors="replace").splitlines() if line.strip()][-lines:]
        if tail:
            print(f"last lines of {log.name}:", *(f"  {redact(line)}" for line in tail), sep="\n", file=sys.stderr)
            last = redact(tail[-1].strip())
    where = f"logs in {logs[0].parent}" if kept and logs else \
        "its logs went with the temp dir; pass --workdir DIR to keep them"
    ended = f"; last log line: {last[:300]}" if last else "; its error logs are empty"
    return f"the server exited unexpectedly ({where}){ended}"
