"""The embedded hgweb target: Mercurial's hgwebdir under gunicorn on loopback, with basic auth for push."""

from __future__ import annotations

import os
import re
import secrets
import socket
import sys
import tempfile
from pathlib import Path

import requests

from hgharness.errors import HarnessError
from hgharness.procs import BASE_TIMEOUT, ManagedProcess, wait_until
from hgharness.secrets import Secret
from hgharness.wsgiapp import write_users

DEFAULT_USER = "hgharness"
# a traceback block: from its header up to the next gunicorn log line ("[2026-...") or the end
TRACEBACK_RE = re.compile(r"^Traceback \(most recent call last\).*?(?=^\[|\Z)", re.M | re.S)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def find_gunicorn() -> str:
    exe = Path(sys.executable).with_name("gunicorn")
    if exe.exists():
        return str(exe)
    raise HarnessError("gunicorn is not installed in this environment: pip install gunicorn")


class EmbeddedHgweb:
    """Serve every repository under `repos_dir`. Use as a context manager or start()/stop()."""

    def __init__(self, repos_dir: str | Path, workdir: str | Path | None = None, port: int = 0, workers: int = 2,
                 username: str = DEFAULT_USER, password: str | None = None, wrap: str | None = None,
                 host: str = "127.0.0.1", extra_web_config: dict | None = None, prefix: str = "",
                 base_url: str | None = None):
        self.repos_dir = Path(repos_dir).resolve()
        if not self.repos_dir.is_dir():
            raise HarnessError(f"repository directory {self.repos_dir} does not exist")
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="hgharness-hgweb-")
            workdir = self._tmp.name
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.port = port
        self.workers = max(2, workers)
        self.username = username
        self.password = Secret(password or secrets.token_urlsafe(18))
        self.wrap = wrap
        self.extra_web_config = extra_web_config or {}
        self.prefix = prefix.strip("/")
        # The URL clients reach hgweb at when a front sits before it (hgweb writes it into feeds): web.baseurl
        self.base_url = base_url
        self.error_log = self.workdir / "gunicorn-error.log"
        self.access_log = self.workdir / "gunicorn-access.log"
        self.proc: ManagedProcess | None = None

    @property
    def url(self) -> str:
        base = f"http://{self.host}:{self.port}/"
        return base + (self.prefix + "/" if self.prefix else "")

    def _write_config(self) -> Path:
        web = {
            "push_ssl": "false",
            "allow-push": self.username,
            "allow_archive": "gz zip bz2",
            "style": "paper",
            "encoding": "UTF-8",
            "descend": "true",
            # Every page loads its CSS, JS and images from the one top-level /static/ (as a deployment serves
            # them from one place), which the WSGI layer marks cacheable: a browser then fetches them once,
            # instead of revalidating per page and per repository (each revalidation opens the repository).
            "staticurl": f"/{self.prefix}/static/" if self.prefix else "/static/",
        }
        web.update(self.extra_web_config)
        # No web.prefix: hgwebdir ignores it (it is `hg serve`'s); the prefix reaches hgweb as SCRIPT_NAME.
        if self.base_url:
            web["baseurl"] = self.base_url
        lines = ["[paths]", f"/ = {self.repos_dir}/*", "", "[web]"]
        lines += [f"{k} = {v}" for k, v in web.items() if v != ""]
        path = self.workdir / "hgweb.config"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self, timeout: float = BASE_TIMEOUT) -> "EmbeddedHgweb":
        config = self._write_config()
        users = self.workdir / "users"
        write_users(users, {self.username: self.password.reveal()})
        home = self.workdir / "home"
        home.mkdir(exist_ok=True)
        hgrc = self.workdir / "server.hgrc"
        hgrc.write_text("[ui]\ninteractive = false\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HGHARNESS_", "HG"))}
        env.update(HOME=str(home), HGRCPATH=str(hgrc), HGENCODING="UTF-8", HGHARNESS_HGWEB_CONFIG=str(config),
                   HGHARNESS_USERS_FILE=str(users), PYTHONUNBUFFERED="1")
        if self.wrap:
            env["HGHARNESS_WRAP"] = self.wrap
        # gunicorn takes SCRIPT_NAME from its environment: PATH_INFO loses the prefix and hgweb's links keep it
        env.pop("SCRIPT_NAME", None)
        if self.prefix:
            env["SCRIPT_NAME"] = "/" + self.prefix
        attempts = 1 if self.port else 3
        for attempt in range(attempts):
            port = self.port or free_port(self.host)
            argv = [find_gunicorn(), "--bind", f"{self.host}:{port}", "--workers", str(self.workers),
                    "--no-control-socket", "--timeout", "300", "--graceful-timeout", "5",
                    "--error-logfile", str(self.error_log), "--access-logfile", str(self.access_log),
                    "--access-logformat", '%(h)s "%(r)s" %(s)s %(b)s %(M)sms',
                    "hgharness.wsgiapp:app"]
            self.proc = ManagedProcess(argv, "gunicorn", env=env, cwd=str(self.workdir),
                                       stderr_path=self.workdir / "gunicorn-stderr.log")
            self.port = port
            try:
                wait_until(self._ready, timeout=timeout, what=f"hgweb at {self.url}")
                return self
            except (TimeoutError, _Exited):
                log = self.proc.tail() + "\n" + _tail(self.error_log)
                self.proc.stop()
                if "Address already in use" in log and attempt + 1 < attempts:
                    self.port = 0
                    continue
                last = [ln for ln in log.splitlines() if ln.strip()][-1:] or ["no output"]
                raise HarnessError(f"embedded hgweb did not start at {self.url}: {last[0].strip()}") from None
        raise HarnessError("embedded hgweb did not start")  # unreachable

    def _ready(self) -> bool:
        if not self.proc.alive():
            raise _Exited()
        try:
            s = requests.Session()
            s.trust_env = False  # loopback: a proxy from the environment must not be asked
            return s.get(self.url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def pids(self) -> list[int]:
        """The master and worker PIDs (for tests that prove nothing is left behind)."""
        return self.proc.tree_pids() if self.proc else []

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def tracebacks(self) -> list[str]:
        """Tracebacks in the server's error log (every test that starts a server asserts there are none)."""
        text = _tail(self.error_log, None)
        return [m.group(0) for m in TRACEBACK_RE.finditer(text)]

    def target_options(self) -> dict:
        return {"target": self.url, "username": self.username, "password": self.password.reveal()}

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class _Exited(Exception):
    pass


def _tail(path: Path, n: int | None = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return text if n is None else "\n".join(text.splitlines()[-n:])
