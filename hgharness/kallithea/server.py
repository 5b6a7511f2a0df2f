"""The embedded Kallithea target: Kallithea 0.7.0 under waitress (gearbox serve) on loopback, in a temp dir.

start(): the cached venv (built once, see venv.py) -> config (`config-create`: loopback, a free port, several
waitress threads) and database (`db-create`: an admin with a random password) -> gearbox serve -> wait until the
index answers -> the push user (API) -> the fixture repositories (API create + hg push, downloads enabled).
A SiteServer like EmbeddedHgweb (.url, .username, .password (Secret), .stop(), .tracebacks(), .pids(), .workdir),
plus .api_key (the admin's, a Secret) and .api (a KallitheaAPI client).
"""

from __future__ import annotations

import re
import secrets
import shlex
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from hgharness.errors import HarnessError
from hgharness.kallithea import venv as kvenv
from hgharness.kallithea_api import KallitheaAPI
from hgharness.procs import read_log
from hgharness.secrets import Secret
from hgharness.server import SiteServer, last_line

ADMIN = "admin"
DEFAULT_USER = "hgharness"

# config-create then db-create, in the venv's python, in one process. The admin password comes through the
# environment so that it never shows in a process list.
SETUP = r"""
import os, sys
from kallithea.bin.kallithea_cli import cli
ini, host, port, threads, repos = sys.argv[1:6]
extra = sys.argv[6:]  # more config-create settings: "[section]" then key=value
def run(args):
    try:
        cli.main(args, prog_name="kallithea-cli", standalone_mode=False)
    except SystemExit as e:
        if e.code:
            raise
run(["config-create", ini, "host=" + host, "port=" + port,
     "[server:main]", "threads=" + threads, "[logger_root]", "level=WARN", *extra])
run(["db-create", "-c", ini, "--user", "admin", "--password", os.environ.pop("HGHARNESS_KALLITHEA_ADMIN"),
     "--email", "admin@example.org", "--repos", repos, "--force-yes"])
"""

_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[.,]\d+ ", re.M)
_BARE_TB = re.compile(r"^Traceback \(most recent call last\):", re.M)
# Kallithea logs a traceback, then answers 404 or redirects, when a client asks for a file or revision that does
# not exist: the client's mistake, not the server's. Any other traceback counts.
CLIENT_ERRORS = ("NodeDoesNotExistError", "ChangesetDoesNotExistError", "EmptyRepositoryError",
                 "webob.exc.HTTPFound", "webob.exc.HTTPNotFound", "webob.exc.HTTPBadRequest")


class EmbeddedKallithea(SiteServer):
    site = "kallithea"
    what, process_name, temp_prefix = "embedded Kallithea", "kallithea", "hgharness-kallithea-"
    probe_timeout = 5.0

    def __init__(self, repos: dict[str, Path] | None = None, workdir: str | Path | None = None, port: int = 0,
                 threads: int = 8, username: str = DEFAULT_USER, password: str | None = None,
                 host: str = "127.0.0.1", progress=None, prefix: str = "", proxied: bool = False,
                 https: bool = False):
        """prefix: serve under this path (PasteDeploy's prefix filter, as Kallithea's docs say); proxied: behind
        a reverse proxy (client addresses from X-Forwarded-For); https: clients reach it through a TLS front."""
        from hgharness.front import normalize_prefix

        super().__init__(workdir, host, port, username, password)
        self.prefix = normalize_prefix(prefix)
        self.proxied, self.https = proxied, https
        self.fixtures = dict(repos or {})
        self.threads = max(2, threads)
        self.admin_username = ADMIN
        self.admin_password = Secret(secrets.token_urlsafe(18))
        self.api_key: Secret | None = None
        self.api: KallitheaAPI | None = None
        self.repos_dir = self.workdir / "repos"  # where Kallithea keeps the repositories it serves
        self.ssh_authorized_keys = self.workdir / "ssh" / "authorized_keys"  # Kallithea writes it (ssh_keys())
        self.ini = self.workdir / "my.ini"
        self.error_log = self.workdir / "kallithea.log"
        self.access_log = self.workdir / "access.log"  # waitress keeps none; kept for EmbeddedHgweb's surface
        self.stdout_log, self.stderr_log = self.workdir / "gearbox-stdout.log", self.error_log
        self.progress = progress or (lambda msg: None)
        self.timings: dict[str, float] = {}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.prefix}/"

    def config_settings(self) -> list[str]:
        """config-create arguments for the deployed shape: prefix, proxy, TLS front."""
        out = []
        if self.prefix:
            out += ["[app:main]", "filter-with=proxy-prefix", "[filter:proxy-prefix]", "use=egg:PasteDeploy#prefix",
                    f"prefix={self.prefix}", "translate_forwarded_server=False"]
        if self.proxied:
            out += ["[app:main]", "remote_addr_variable=HTTP_X_FORWARDED_FOR"]
        # Mercurial over SSH (Kallithea's own: users' keys in its database, written to this authorized_keys file
        # with `kallithea-cli ssh-serve` as each key's forced command), served by the harness's sshd on demand
        out += ["[app:main]", "ssh_enabled=true", f"ssh_authorized_keys={self.ssh_authorized_keys}",
                f"kallithea_cli_path={self.workdir / 'kallithea-cli'}", "ssh_locale=C.UTF-8"]
        if self.https:
            # The documented `url_scheme_variable = HTTP_X_FORWARDED_PROTO` stops Kallithea 0.7.0 from starting
            # (application.py feeds it to asbool: "String is not true/false"); every client comes through the
            # TLS front, so force_https says the same thing.
            # and its session cookie goes over https only (Secure): Kallithea's generated config does not say so
            out += ["[app:main]", "force_https=true", "session.secure=true"]
        return out

    # --- lifecycle ---
    def _start(self, timeout: float) -> None:
        t0 = time.monotonic()
        venv = kvenv.ensure_venv(progress=self.progress)
        self.python = str(venv / "bin" / "python")
        t1 = time.monotonic()
        chosen = self.choose_port()  # before setup: config-create writes it into my.ini
        self._setup()
        t2 = time.monotonic()
        self.launch(timeout * 2, retry_port=chosen)
        t3 = time.monotonic()
        self.api_key = Secret(self.user_api_key(ADMIN))
        self.api = KallitheaAPI(self.url, self.api_key)
        self.api.create_user(self.username, self.password, email=f"{self.username}@example.org")
        if self.fixtures:
            from hgharness.kallithea.provision import provision

            provision(self.target(), self.api, self.fixtures, progress=self.progress)
        t4 = time.monotonic()
        self.timings = {"venv_s": t1 - t0, "setup_s": t2 - t1, "serve_s": t3 - t2, "provision_s": t4 - t3}

    def _setup(self) -> None:
        self.repos_dir.mkdir(exist_ok=True)
        # kallithea-cli for the SSH keys' forced command: the venv's own script may carry the shebang of the
        # directory it was built in (kvenv builds aside, then renames), so a wrapper runs it with the venv's Python
        cli = self.workdir / "kallithea-cli"
        cli.write_text(f"#!/bin/sh\nexec {shlex.quote(self.python)} -c 'import sys; from kallithea.bin.kallithea_cli "
                       "import cli; sys.exit(cli(prog_name=\"kallithea-cli\"))' \"$@\"\n")
        cli.chmod(0o755)
        env = self.env()
        env["HGHARNESS_KALLITHEA_ADMIN"] = self.admin_password.reveal()
        r = subprocess.run([self.python, "-c", SETUP, str(self.ini), self.host, str(self.port), str(self.threads),
                            str(self.repos_dir), *self.config_settings()], cwd=str(self.workdir), env=env,
                           capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        (self.workdir / "setup.log").write_text(r.stdout + r.stderr)
        if r.returncode != 0 or not (self.workdir / "kallithea.db").exists():
            raise HarnessError(f"Kallithea setup (config-create/db-create) failed: {last_line(r.stdout + r.stderr)}")

    def argv(self) -> list[str]:
        return [self.python, "-c", kvenv.GEARBOX, "serve", "-c", str(self.ini)]

    def env(self) -> dict:
        # Nothing of the harness's environment (its venv, HG* settings, HGHARNESS_* secrets) reaches the server.
        return self.hg_env(drop=("VIRTUAL_ENV", "PYTHON"), LANG="C.UTF-8")

    def port_changed(self) -> None:
        self.ini.write_text(re.sub(r"(?m)^port = \d+$", f"port = {self.port}", self.ini.read_text()))

    READER = "hgharness-reader"

    def ssh_keys(self, via=None) -> dict[str, Path]:
        """Key pairs for Mercurial over SSH, registered as a user would (the My Account form): `push` for the push
        user, `read` for a user allowed to read the fixture repositories only. Kallithea writes them into
        ssh_authorized_keys, each forced to `kallithea-cli ssh-serve`, which checks the user's permissions.
        `via`: the Target its users reach it at (its TLS front: the session cookie is Secure there, so a login
        straight to this loopback http port would not keep its session); this server's own by default."""
        from hgharness.kallithea.web import CSRF, KallitheaWeb
        from hgharness.sshd import keygen

        keys_dir = self.workdir / "ssh-keys"
        keys_dir.mkdir(exist_ok=True)
        reader_password = Secret(secrets.token_urlsafe(18))
        self.api.create_user(self.READER, reader_password, email=f"{self.READER}@example.org")
        for repo in self.fixtures:
            self.api.grant_user_permission(repo, self.READER, "repository.read")
        keys = {}
        for name, (user, password) in {"push": (self.username, self.password),
                                       "read": (self.READER, reader_password)}.items():
            key = keygen(keys_dir / f"{name}_key", f"hgharness {name}")
            web = KallitheaWeb(via or self.target())
            if not web.login(user, password):
                raise HarnessError(f"Kallithea refused the login of {user!r} to add an SSH key")
            r = web.http.post(web.target.url_for("_admin/my_account/ssh_keys"), timeout=60, allow_redirects=False,
                              data={"description": f"hgharness {name}", CSRF: web.token(),
                                    "public_key": key.with_suffix(".pub").read_text().strip()})
            if r.status_code != 302:
                raise HarnessError(f"Kallithea did not take {user!r}'s SSH key: HTTP {r.status_code}")
            keys[name] = key
        lines = [ln for ln in self.ssh_authorized_keys.read_text().splitlines() if "ssh-serve" in ln] \
            if self.ssh_authorized_keys.exists() else []
        if len(lines) != len(keys):
            raise HarnessError(f"Kallithea wrote {len(lines)} of {len(keys)} SSH keys to {self.ssh_authorized_keys}")
        return keys

    # --- facts ---
    def user_api_key(self, username: str) -> str:
        """A user's API key, read from the database (the API does not hand keys out)."""
        with sqlite3.connect(f"file:{self.workdir / 'kallithea.db'}?mode=ro", uri=True) as db:
            row = db.execute("SELECT api_key FROM users WHERE username = ?", (username,)).fetchone()
        if not row:
            raise HarnessError(f"Kallithea has no user {username!r}")
        return row[0]

    def target(self, **overrides):
        """A Target for this server (the push user, the admin API key, the fixture repositories)."""
        from hgharness.target import Target

        kw = dict(url=self.url, site_name="kallithea", username=self.username, password=self.password,
                  api_key=self.api_key, repos=sorted(self.fixtures), allow_load=True, embedded=True)
        if self.fixtures:
            kw["fixture_dir"] = str(Path(next(iter(self.fixtures.values()))).parent)
        kw.update(overrides)
        return Target(**kw)

    def tracebacks(self) -> list[str]:
        """Tracebacks in the server log, except those Kallithea logs for a client's request of a missing path."""
        out = []
        for entry in _split_entries(read_log(self.error_log)):
            if "Traceback (most recent call last)" not in entry:
                continue
            last = [ln for ln in entry.splitlines() if ln.strip()][-1]
            if not any(last.startswith(e) or f".{e}" in last.split(":")[0] for e in CLIENT_ERRORS):
                out.append(entry)
        return out


def _split_entries(text: str) -> list[str]:
    """Log entries: each starts at a timestamped line, or at a bare traceback (printed by the web framework)
    that is not the continuation of a chained one."""
    starts = [m.start() for m in _ENTRY.finditer(text)]
    for m in _BARE_TB.finditer(text):
        before = text[max(0, m.start() - 120):m.start()]
        if "During handling of the above exception" not in before and "direct cause" not in before:
            starts.append(m.start())
    starts = sorted(set(starts) | {0})
    return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)], strict=True)]


def start_for_cli(args, fixture_repos, password: str | None, progress=print, workdir: Path | None = None):
    """`hgharness serve|run --site kallithea`: the fixture set (or --repos-dir) on a fresh embedded Kallithea.

    fixture_repos(args, workdir, progress) -> (repos_dir, names) builds or finds the repositories to serve;
    password is the push user's (None: a random one). Returns (server, repository names, local fixture
    directory), like the hgweb branch of start_embedded.
    """
    from hgharness.front import check_front_arguments, front_for, normalize_prefix

    check_front_arguments(args, embedded=True)
    if getattr(args, "front", None) == "haproxy":
        raise HarnessError("--front haproxy starts a fleet of embedded hgweb nodes; Kallithea takes --front nginx")
    front, tls, prefix = getattr(args, "front", None), bool(getattr(args, "tls", False)), \
        normalize_prefix(getattr(args, "prefix", None))
    kvenv.ensure_venv(progress=progress)  # first: no suitable Python is a one-line error before any other work
    workdir = Path(workdir or tempfile.mkdtemp(prefix="hgharness-serve-"))
    repos_dir, names = fixture_repos(args, workdir, progress)
    workers = getattr(args, "workers", 2) or 2
    port = getattr(args, "port", 0) or 0  # behind a front, the port users see is the front's
    server = EmbeddedKallithea({n: Path(repos_dir) / n for n in names}, workdir=workdir / "server",
                               port=0 if front else port, threads=max(8, 4 * workers),
                               username=getattr(args, "user", None) or DEFAULT_USER, password=password,
                               progress=progress, prefix=prefix, proxied=bool(front), https=tls)
    progress(f"starting Kallithea (waitress, {server.threads} threads)"
             f"{' under ' + prefix + '/' if prefix else ''} ...")
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    progress("Kallithea ready: " + ", ".join(f"{k[:-2]} {v:.1f}s" for k, v in server.timings.items()))
    if front:
        progress(f"starting the nginx front{' with TLS (private CA)' if tls else ''} ...")
        try:  # Kallithea authenticates pushes and logins itself: no auth_basic at the front
            server = front_for(server, args, workdir, port=port)
        except BaseException:
            server.stop()
            raise
    return server, names, Path(repos_dir)
