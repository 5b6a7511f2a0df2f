"""The embedded hgweb target: Mercurial's hgwebdir under gunicorn on loopback, with basic auth for push."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from hgharness.errors import HarnessError
from hgharness.server import SiteServer, free_port  # noqa: F401  (free_port: other modules import it from here)
from hgharness.wsgiapp import write_users

DEFAULT_USER = "hgharness"
# a traceback block: from its header up to the next gunicorn log line ("[2026-...") or the end
TRACEBACK_RE = re.compile(r"^Traceback \(most recent call last\).*?(?=^\[|\Z)", re.M | re.S)
# gunicorn's default (its --access-logformat unset), as a production gunicorn writes it: what `hgharness load
# derive` reads back (access_log=PATH)
GUNICORN_ACCESS_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
# The harness's own access log (in its work directory, kept in the run directory): the same, with the response
# time; `load derive` reads it too (the load stage reads its part back into a mix)
HARNESS_ACCESS_FORMAT = GUNICORN_ACCESS_FORMAT + ' %(M)sms'


def find_gunicorn() -> str:
    exe = Path(sys.executable).with_name("gunicorn")
    if exe.exists():
        return str(exe)
    raise HarnessError("gunicorn is not installed in this environment: pip install gunicorn")


def wrap_module_spec(wrap: str):
    """The import spec of MODULE in a wrap "MODULE:CALLABLE", as this process finds it (None: not importable)."""
    import importlib.util

    try:
        return importlib.util.find_spec(wrap.partition(":")[0])
    except (ImportError, ValueError):
        return None


def wrap_import_root(wrap: str) -> str | None:
    """The directory from which MODULE of a wrap "MODULE:CALLABLE" imports here (None: not found, or not from a
    file), for the server's PYTHONPATH."""
    spec = wrap_module_spec(wrap)
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        return None
    depth = wrap.partition(":")[0].count(".") + (1 if Path(spec.origin).name == "__init__.py" else 0)
    return str(Path(spec.origin).resolve().parents[depth])


class EmbeddedHgweb(SiteServer):
    """Serve every repository under `repos_dir`. Use as a context manager or start()/stop()."""

    site = "hgweb"
    what, process_name, temp_prefix = "embedded hgweb", "gunicorn", "hgharness-hgweb-"
    PROBLEM_RE = TRACEBACK_RE

    def __init__(self, repos_dir: str | Path, workdir: str | Path | None = None, port: int = 0, workers: int = 2,
                 username: str = DEFAULT_USER, password: str | None = None, wrap: str | None = None,
                 host: str = "127.0.0.1", extra_web_config: dict | None = None, prefix: str = "",
                 base_url: str | None = None, access_log: str | Path | None = None,
                 extra_config: dict[str, dict] | None = None):
        self.repos_dir = Path(repos_dir).resolve()
        if not self.repos_dir.is_dir():
            raise HarnessError(f"repository directory {self.repos_dir} does not exist")
        super().__init__(workdir, host, port, username, password)
        self.workers = max(2, workers)
        self.wrap = wrap
        self.extra_web_config = extra_web_config or {}
        # other sections of the served repositories' configuration, e.g. {"phases": {"publish": "False"}}
        self.extra_config = extra_config or {}
        self.prefix = prefix.strip("/")
        # The URL clients reach hgweb at when a front sits before it (hgweb writes it into feeds): web.baseurl
        self.base_url = base_url
        self.error_log = self.workdir / "gunicorn-error.log"
        # access_log: write gunicorn's default-format access log (time, user agent) there, as production does
        self.access_log = Path(access_log).resolve() if access_log else self.workdir / "gunicorn-access.log"
        self.access_format = GUNICORN_ACCESS_FORMAT if access_log else HARNESS_ACCESS_FORMAT
        self.stderr_log = self.workdir / "gunicorn-stderr.log"

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
        for section, values in self.extra_config.items():
            lines += ["", f"[{section}]"] + [f"{k} = {v}" for k, v in values.items()]
        path = self.workdir / "hgweb.config"
        path.write_text("\n".join(lines) + "\n")
        return path

    def _start(self, timeout: float) -> None:
        self._config = self._write_config()
        self._users = self.workdir / "users"
        write_users(self._users, {self.username: self.password.reveal()})
        self.launch(timeout, retry_port=self.choose_port())

    def env(self) -> dict:
        env = self.hg_env(HGHARNESS_HGWEB_CONFIG=str(self._config), HGHARNESS_USERS_FILE=str(self._users))
        if self.wrap:
            env["HGHARNESS_WRAP"] = self.wrap
            root = wrap_import_root(self.wrap)  # the wrap's module imports in gunicorn as it does here
            if root:
                env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        # gunicorn takes SCRIPT_NAME from its environment: PATH_INFO loses the prefix and hgweb's links keep it
        env.pop("SCRIPT_NAME", None)
        if self.prefix:
            env["SCRIPT_NAME"] = "/" + self.prefix
        return env

    def argv(self) -> list[str]:
        return [find_gunicorn(), "--bind", f"{self.host}:{self.port}", "--workers", str(self.workers),
                "--no-control-socket", "--timeout", "300", "--graceful-timeout", "5",
                "--error-logfile", str(self.error_log), "--access-logfile", str(self.access_log),
                "--access-logformat", self.access_format,
                "hgharness.wsgiapp:app"]
