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


def add_arguments(p):
    p.add_argument("--site", default="hgweb", help="hgweb (default) or kallithea (see README, Kallithea)")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (at least 2; default 2)")
    p.add_argument("--set", dest="fixture_set", default=None, help="fixture set to serve (default: the standard set)")
    p.add_argument("--repos-dir", help="serve these repositories instead of a fixture set")
    p.add_argument("--user", default="hgharness", help="user allowed to push (default hgharness)")
    p.add_argument("--password-file", help="read the push password from this file "
                   "(default: HGHARNESS_PASSWORD, else a random one written to a private file)")
    p.add_argument("--workdir", help="keep server state and logs here (default: a temp dir, removed at exit)")
    from hgharness.front import add_front_arguments

    add_front_arguments(p)  # --front nginx, --tls, --prefix /hg


def start_embedded(args, progress=print, workdir: Path | None = None):
    """Start the embedded target described by args; returns (server, repo names). Caller stops it."""
    from hgharness.embedded import EmbeddedHgweb

    site = getattr(args, "site", None) or "hgweb"
    if site == "kallithea":
        from hgharness.kallithea.server import start_for_cli

        return start_for_cli(args, progress=progress, workdir=workdir)
    if site != "hgweb":
        from hgharness.sites import KNOWN_SITES

        if site not in KNOWN_SITES:
            raise HarnessError(f"unknown site flavour {site!r} (known: {', '.join(sorted(KNOWN_SITES))})")
        raise HarnessError(f"no embedded target for site {site!r} in this build (available: hgweb)")
    from hgharness.front import check_front_arguments, start_hgweb_for_cli

    check_front_arguments(args, embedded=True)  # before building fixtures: bad options fail fast
    workdir = Path(workdir or tempfile.mkdtemp(prefix="hgharness-serve-"))
    repos_dir, names = fixture_repos(args, workdir, progress)
    password = _password(args)
    shaped = start_hgweb_for_cli(args, repos_dir, workdir, progress, port=getattr(args, "port", 0) or 0,
                                 workers=getattr(args, "workers", 2) or 2,
                                 username=getattr(args, "user", "hgharness"), password=password)
    if shaped is not None:  # behind a front and/or under a prefix
        return shaped, names, Path(repos_dir)
    server = EmbeddedHgweb(repos_dir, workdir=workdir / "server", port=getattr(args, "port", 0) or 0,
                           workers=getattr(args, "workers", 2) or 2, username=getattr(args, "user", "hgharness"),
                           password=password)
    progress(f"starting hgweb (gunicorn, {server.workers} workers) ...")
    server.start()
    return server, names, Path(repos_dir)


def fixture_repos(args, workdir: Path, progress=print) -> tuple[Path, list[str]]:
    """The repositories an embedded target serves: --repos-dir as it is, else the fixture set built (or taken
    from the cache) in workdir/repos. Returns (directory, sorted names)."""
    from hgharness.fixtures.sets import DEFAULT_SET, build_set

    repos_dir = getattr(args, "repos_dir", None)
    if repos_dir:
        names = sorted(p.name for p in Path(repos_dir).iterdir() if (p / ".hg").is_dir())
        if not names:
            raise HarnessError(f"no Mercurial repositories in {repos_dir}")
        return Path(repos_dir), names
    repos_dir = workdir / "repos"
    return repos_dir, build_set(getattr(args, "fixture_set", None) or DEFAULT_SET, repos_dir, progress=progress)


def _password(args) -> str | None:
    path = getattr(args, "password_file", None)
    if path:
        try:
            value = Path(path).read_text().strip()
        except OSError as e:
            raise HarnessError(f"cannot read password file {path}: {e.strerror}") from None
        if not value:
            raise HarnessError(f"password file {path} is empty")
        return value
    return os.environ.get("HGHARNESS_PASSWORD") or None


def main(args) -> int:
    if args.workers < 2:
        raise HarnessError("--workers must be at least 2")
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="hgharness-serve-"))
    try:
        server, names, repos_dir = start_embedded(args, workdir=workdir)
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
            print(f"  front: {server.describe_front()} (nginx logs in {server.front.workdir})")
        if getattr(server, "ca_file", None):
            print(f"  TLS: private CA certificate {server.ca_file}; clients need it: --ca-bundle {server.ca_file}, "
                  f"hg --config web.cacerts={server.ca_file}")
        print(f"  URL={server.url}", flush=True)
        print("Ctrl-C to stop.", flush=True)
        stop = threading.Event()
        while not stop.wait(1.0):
            if not (server.alive() if hasattr(server, "alive") else server.proc.alive()):
                raise HarnessError(f"the server exited unexpectedly; see {server.error_log}")
    except KeyboardInterrupt:
        print("stopping ...", flush=True)
    finally:
        server.stop()
        if not args.workdir:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    return 0
