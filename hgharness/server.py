"""One server process the harness starts on loopback (hgweb under gunicorn, Kallithea under waitress, an nginx
front): what every such server shares, written once. A subclass says only what differs: its command line, its
files, its log locations and what counts as a problem in its log.

The shared part: a work directory (given, or a temp dir removed at stop()), a free port (swapped for another when
someone took it between choosing and binding, unless the port was given), the wait until the URL answers 200,
a one-line error naming the last log line when it does not, PIDs, logs, stop() and the context-manager protocol.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import tempfile
from pathlib import Path

import requests

from hgharness.errors import HarnessError
from hgharness.procs import BASE_TIMEOUT, ManagedProcess, read_log, wait_until
from hgharness.secrets import Secret


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


class ManagedServer:
    """Start with start() or `with`; stop() stops the process group and removes a temp work directory."""

    what = "server"            # in messages: "<what> did not start at URL: ..."
    process_name = "server"    # in "cannot start <name>: ... not found"
    temp_prefix = "hgharness-server-"
    # what in error_log counts as the server's own failure (every test that starts a server asserts none)
    PROBLEM_RE: re.Pattern | None = None
    probe_timeout = 2.0        # per readiness request

    def __init__(self, workdir: str | Path | None = None, host: str = "127.0.0.1", port: int = 0):
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix=self.temp_prefix)
            workdir = self._tmp.name
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host, self.port = host, port
        self.proc: ManagedProcess | None = None
        self.error_log = self.workdir / "error.log"
        self.access_log = self.workdir / "access.log"
        self.stdout_log: Path | None = None
        self.stderr_log: Path | None = None

    # --- what a subclass says ---
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict | None:
        """The child's environment (None: the harness's own)."""
        return None

    def verify(self) -> bool | str:
        """TLS verification for the readiness probe."""
        return True

    def port_changed(self) -> None:
        """Called after a retry chose another port: rewrite whatever file holds it."""

    def startup_error(self, log: str) -> str:
        """The line of the start-up log that says why the server did not start."""
        return last_line(log)

    def _start(self, timeout: float) -> None:
        """Write the files the server needs, then self.launch(timeout)."""
        self.launch(timeout)

    # --- the shared part ---
    def start(self, timeout: float = BASE_TIMEOUT):
        try:
            self._start(timeout)
        except BaseException:
            if self.proc:  # the logs stay in workdir for the error message's reader
                self.proc.stop()
            raise
        return self

    def choose_port(self) -> bool:
        """A free port unless one was given; True when the harness chose it (so it may choose another)."""
        if self.port:
            return False
        self.port = free_port(self.host)
        return True

    def launch(self, timeout: float, retry_port: bool = False) -> None:
        """Start argv() and wait until url answers 200. With retry_port, a port someone else bound meanwhile is
        swapped for another free one (three tries)."""
        attempts = 3 if retry_port else 1
        for attempt in range(attempts):
            self.proc = ManagedProcess(self.argv(), self.process_name, env=self.env(), cwd=str(self.workdir),
                                       stdout_path=self.stdout_log, stderr_path=self.stderr_log)
            try:
                wait_until(self._ready, timeout=timeout, what=f"{self.what} at {self.url}")
                return
            except (TimeoutError, _Exited):
                log = self.proc.tail() + "\n" + read_log(self.error_log, 20)
                self.proc.stop()
                if "Address already in use" in log and attempt + 1 < attempts:
                    self.port = free_port(self.host)
                    self.port_changed()
                    continue
                raise HarnessError(f"{self.what} did not start at {self.url}: {self.startup_error(log)}") from None

    def _ready(self) -> bool:
        if not self.proc.alive():
            raise _Exited()
        try:
            with requests.Session() as s:
                s.trust_env = False  # loopback: a proxy from the environment must not be asked
                return s.get(self.url, timeout=self.probe_timeout, verify=self.verify()).status_code == 200
        except requests.RequestException:
            return False

    def hg_env(self, drop: tuple[str, ...] = (), **extra: str) -> dict:
        """The environment of a server that runs Mercurial: nothing of the harness's HG* settings or HGHARNESS_*
        secrets (nor the prefixes in `drop`), its own HOME and hgrc in the work directory."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HGHARNESS_", "HG", *drop))}
        home = self.workdir / "home"
        home.mkdir(exist_ok=True)
        hgrc = self.workdir / "server.hgrc"
        hgrc.write_text("[ui]\ninteractive = false\n")
        env.update(HOME=str(home), HGRCPATH=str(hgrc), HGENCODING="UTF-8", PYTHONUNBUFFERED="1", **extra)
        return env

    def alive(self) -> bool:
        return bool(self.proc and self.proc.alive())

    def pids(self) -> list[int]:
        """The process and its children (for tests that prove nothing is left behind)."""
        return self.proc.tree_pids() if self.proc else []

    def log_files(self) -> list[Path]:
        return [p for p in (self.error_log, self.access_log) if p.exists()]

    def tracebacks(self) -> list[str]:
        """The problems in the error log (PROBLEM_RE; every test that starts a server asserts there are none)."""
        if self.PROBLEM_RE is None:
            return []
        return [m.group(0) for m in self.PROBLEM_RE.finditer(read_log(self.error_log))]

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class SiteServer(ManagedServer):
    """A server of a hosting site (not a front): a push user, whose password is random unless given."""

    site: str  # the site flavour, as --site names it

    def __init__(self, workdir: str | Path | None, host: str, port: int, username: str, password: str | None):
        super().__init__(workdir, host, port)
        self.username = username
        self.password = Secret(password or secrets.token_urlsafe(18))

    def target_options(self) -> dict:
        return {"target": self.url, "username": self.username, "password": self.password.reveal()}


class _Exited(Exception):
    """The server process ended while the harness waited for it to answer."""


class FrontedServer:
    """An embedded server as clients see it through its front: the URL and CA are the front's; logs, stop()
    and the traceback check cover both. Everything else is the server's (repos_dir, username, password...)."""

    def __init__(self, server, front):
        self.server = server
        self.servers = [server]  # every process behind the front (a fleet has several: hgharness.haproxy)
        self.front = front

    @property
    def url(self) -> str:
        return self.front.url

    @property
    def ca_file(self) -> str | None:
        return str(self.front.ca_file) if self.front.ca_file else None

    def describe_front(self) -> str:
        return self.front.describe()

    def alive(self) -> bool:
        return self.front.alive() and all(s.alive() for s in self.servers)

    def tracebacks(self) -> list[str]:
        return [t for s in self.servers for t in s.tracebacks()] + self.front.tracebacks()

    def pids(self) -> list[int]:
        return self.front.pids() + [p for s in self.servers for p in s.pids()]

    def log_files(self) -> list[Path]:
        return [p for s in self.servers for p in s.log_files()] + self.front.log_files()

    def stop(self) -> None:
        try:
            self.front.stop()
        finally:
            for s in self.servers:
                s.stop()

    def target_options(self) -> dict:
        opts = self.server.target_options()
        opts.update(target=self.url, ca_bundle=self.ca_file)
        return opts

    def __getattr__(self, name):
        return getattr(self.server, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
