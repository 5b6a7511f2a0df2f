"""An nginx front on loopback, so an embedded target has the shape of a deployment.

    client ──https──> nginx 127.0.0.1:P1 /hg/ ──http──> upstream (gunicorn hgweb, Kallithea...) 127.0.0.1:P2

The front takes an upstream URL, not a server object, so the same front serves any site flavour. What it does,
as a production front would:
- TLS (optional) with a certificate from a private CA created for the run (hgharness.tlsca); the server sends
  the leaf and the CA, and clients must be handed ca.pem to trust it;
- a path prefix: requests under it are proxied as sent (no re-encoding of hostile paths); anything outside it
  gets nginx's own 404, so a link escaping the prefix is visible;
- basic auth for writes (`limit_except GET HEAD`: Mercurial reads with GET and pushes with POST); the
  Authorization header is passed on, so the upstream sees the same credentials and sets REMOTE_USER;
- no request body limit and no buffering either way, so big pushes and streaming clones pass through as a
  stream; X-Forwarded-For/Proto/Host/Port/Prefix for the upstream.

nginx runs in the foreground with its own prefix, pid file, logs and temp paths in the work directory.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import urllib.parse
from functools import lru_cache
from pathlib import Path

from hgharness.errors import HarnessError
from hgharness.procs import BASE_TIMEOUT
from hgharness.server import FrontedServer, ManagedServer, free_port, last_line

NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
# Lines of nginx's error log that mean the front itself is broken (not a client's bad request or bad password).
PROBLEM_RE = re.compile(r"^.*\[(emerg|alert|crit)\].*$|^.*\[error\].*upstream.*$", re.M)


def find_nginx() -> str:
    for path in (shutil.which("nginx"), *NGINX_CANDIDATES):
        if path and os.access(path, os.X_OK):
            return path
    raise HarnessError("nginx is not installed: apt-get install nginx-light (scripts/setup.sh does it as root)")


@lru_cache(maxsize=4)
def _nginx_build(nginx: str) -> str:
    """`nginx -V` output: which modules were left out at build time (nginx-light drops some)."""
    proc = subprocess.run([nginx, "-V"], capture_output=True, text=True, timeout=30)
    return proc.stderr + proc.stdout


def ssha_line(user: str, password: str) -> str:
    """An htpasswd line with an RFC 2307 {SSHA} hash (salted SHA-1), which nginx's auth_basic reads."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return f"{user}:{{SSHA}}{base64.b64encode(digest + salt).decode()}"


def normalize_prefix(prefix: str | None) -> str:
    """'' or '/hg' style (leading slash, no trailing slash); rejects what nginx or a URL cannot carry."""
    p = (prefix or "").strip().strip("/")
    if not p:
        return ""
    if not re.fullmatch(r"[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*", p) or ".." in p.split("/"):
        raise HarnessError(f"bad path prefix {prefix!r}: use letters, digits, '.', '-', '_', '~' and '/', "
                           "e.g. --prefix /hg")
    return "/" + p


class NginxFront(ManagedServer):
    """nginx in front of `upstream` (an http:// URL on loopback). Context manager or start()/stop()."""

    what, process_name = "nginx front", "nginx"
    PROBLEM_RE = PROBLEM_RE

    def __init__(self, upstream: str, workdir: str | Path, prefix: str = "", tls: bool = False,
                 users: dict[str, str] | None = None, host: str = "127.0.0.1", port: int = 0,
                 realm: str = "hgharness push", server_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")):
        parts = urllib.parse.urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise HarnessError(f"front upstream must be http://HOST:PORT[/path], not {upstream!r}")
        # the port is fixed here: the upstream may need the front's URL before the front starts
        super().__init__(workdir, host, port or free_port(host))
        self.upstream = upstream
        self.upstream_path = parts.path.rstrip("/")
        self.prefix = normalize_prefix(prefix)
        self.tls = tls
        self.users = users or {}
        self.realm = realm
        self.server_hosts = server_hosts
        self.error_log = self.workdir / "nginx-error.log"
        self.access_log = self.workdir / "nginx-access.log"
        self.stderr_log = self.workdir / "nginx-stderr.log"
        self.conf_file = self.workdir / "nginx.conf"
        self.ca_file: Path | None = None
        self._cert = None

    # --- facts ---
    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}{self.prefix}/"

    def describe(self) -> str:
        """For the report's target description, e.g. 'nginx+tls prefix=/hg'."""
        return "nginx" + ("+tls" if self.tls else "") + (f" prefix={self.prefix}" if self.prefix else "")

    # --- configuration ---
    def _tls_files(self):
        if self._cert is None:
            from hgharness.tlsca import CA

            ca = CA(self.workdir / "tls")
            self._cert = ca.issue_server("front", hosts=self.server_hosts)
            self.ca_file = ca.cert_file
        return self._cert

    def render(self) -> str:
        """The nginx.conf text (public so a test or a user can read exactly what runs)."""
        nginx = find_nginx()
        build = _nginx_build(nginx)
        tmp = self.workdir / "tmp"
        temp_lines = [f"client_body_temp_path {tmp}/body;", f"proxy_temp_path {tmp}/proxy;"]
        for mod in ("fastcgi", "uwsgi", "scgi"):  # nginx creates these dirs at start even when unused
            if f"--without-http_{mod}_module" not in build:
                temp_lines.append(f"{mod}_temp_path {tmp}/{mod};")
        up = urllib.parse.urlsplit(self.upstream)
        listen = f"{self.host}:{self.port}" if ":" not in self.host else f"[{self.host}]:{self.port}"
        server = [f"listen {listen}{' ssl' if self.tls else ''};", "server_name localhost;"]
        if self.tls:
            cert = self._tls_files()
            server += [f"ssl_certificate {cert.chain};", f"ssl_certificate_key {cert.key};",
                       "ssl_protocols TLSv1.2 TLSv1.3;", "ssl_session_cache shared:hgharness_tls:1m;"]
        # Passed as sent when the upstream serves the same path (no URI part on proxy_pass); otherwise nginx
        # swaps the prefix for the upstream path, which re-encodes the URI (fine for plain paths only).
        pass_path = "" if self.upstream_path == self.prefix else (self.upstream_path + "/")
        auth = []
        if self.users:
            auth = ["limit_except GET HEAD {", f'    auth_basic "{self.realm}";',
                    f"    auth_basic_user_file {self.workdir / 'htpasswd'};", "}"]
        proxied = [
            *auth,
            f"proxy_pass http://hgharness_upstream{pass_path};",
            f"proxy_redirect http://{up.netloc}/ $scheme://$http_host/;",
        ]
        locations = []
        if self.prefix:
            locations += [f"location = {self.prefix} {{", f"    return 301 {self.prefix}/;", "}",
                          f"location {self.prefix}/ {{", *("    " + x for x in proxied), "}",
                          "location / {", "    return 404;", "}"]
        else:
            locations += ["location / {", *("    " + x for x in proxied), "}"]
        user = ["user root;"] if os.geteuid() == 0 else []  # workers would switch to nobody and lose the workdir
        lines = [
            *user,
            "worker_processes 2;",
            f"pid {self.workdir / 'nginx.pid'};",
            f"error_log {self.error_log} notice;",
            "events { worker_connections 512; }",
            "http {",
            "    default_type application/octet-stream;",
            "    server_tokens off;",
            *("    " + x for x in temp_lines),
            # no Authorization header and, of the query, only Mercurial's command: safe to keep in a run directory
            '    log_format hgharness \'$remote_addr "$request_method $uri" cmd=$arg_cmd $status $body_bytes_sent '
            '$request_length rt=$request_time urt=$upstream_response_time\';',
            f"    access_log {self.access_log} hgharness;",
            f"    upstream hgharness_upstream {{ server {up.hostname}:{up.port}; }}",
            "    server {",
            *("        " + x for x in server),
            "        client_max_body_size 0;",          # pushes of any size
            "        proxy_http_version 1.1;",           # needed to stream chunked bodies
            "        proxy_buffering off;",              # clone bundles stream to the client as produced
            "        proxy_request_buffering off;",      # push bundles stream to the upstream
            "        proxy_read_timeout 300s;",
            "        proxy_send_timeout 300s;",
            "        absolute_redirect off;",            # our own redirects stay relative (scheme/port-proof)
            "        proxy_set_header Host $http_host;",
            "        proxy_set_header X-Real-IP $remote_addr;",
            "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "        proxy_set_header X-Forwarded-Proto $scheme;",
            "        proxy_set_header X-Forwarded-Host $http_host;",
            "        proxy_set_header X-Forwarded-Port $server_port;",
            f"        proxy_set_header X-Forwarded-Prefix \"{self.prefix}\";",
            *("        " + x for x in locations),
            "    }",
            "}",
        ]
        return "\n".join(lines) + "\n"

    def _prepare(self) -> None:
        for sub in ("tmp", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi", "logs"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        if self.users:
            fd = os.open(self.workdir / "htpasswd", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write("".join(ssha_line(u, p) + "\n" for u, p in self.users.items()))
        self.conf_file.write_text(self.render())

    def _argv(self, *extra) -> list[str]:
        # -p: relative paths and the default logs/ dir live in the workdir; -e: nginx opens the error log
        # before reading the config, so point it there too (the build default may be unwritable)
        return [find_nginx(), "-p", str(self.workdir) + "/", "-e", str(self.error_log), "-c", str(self.conf_file),
                *extra]

    def argv(self) -> list[str]:
        return self._argv("-g", "daemon off;")

    def verify(self) -> bool | str:
        return str(self.ca_file) if self.tls else True

    def startup_error(self, log: str) -> str:
        bad = [ln for ln in log.splitlines() if "[emerg]" in ln or "[crit]" in ln or "[alert]" in ln]
        return bad[-1].strip() if bad else last_line(log)

    # --- running ---
    def _start(self, timeout: float) -> None:
        self._prepare()
        test = subprocess.run(self._argv("-t", "-q"), capture_output=True, text=True, timeout=60)
        if test.returncode != 0:
            raise HarnessError(f"nginx rejected its configuration {self.conf_file}: {last_line(test.stderr)}")
        self.launch(timeout)

    def problems(self) -> list[str]:
        """[emerg]/[alert]/[crit] lines and upstream errors in nginx's error log (every test asserts none)."""
        return self.tracebacks()


def start_hgweb_behind_nginx(repos_dir, workdir: str | Path, prefix: str = "", tls: bool = False,
                             front_port: int = 0, timeout: float = BASE_TIMEOUT, **hgweb_kwargs) -> FrontedServer:
    """The embedded hgweb target (gunicorn) behind an nginx front; returns the pair, both running.

    gunicorn serves under the same prefix (SCRIPT_NAME) so nginx passes paths untouched, and hgweb's
    web.baseurl is the front's URL so the absolute links it writes (feeds) point at the front.
    """
    from hgharness.embedded import EmbeddedHgweb

    workdir = Path(workdir)
    prefix = normalize_prefix(prefix)
    for attempt in range(1 if front_port else 3):
        port = front_port or free_port()
        scheme = "https" if tls else "http"
        server = EmbeddedHgweb(repos_dir, workdir=workdir / "server", prefix=prefix,
                               base_url=f"{scheme}://127.0.0.1:{port}{prefix}", **hgweb_kwargs)
        server.start(timeout=timeout)
        try:
            front = NginxFront(server.url, workdir / "front", prefix=prefix, tls=tls, port=port,
                               users={server.username: server.password.reveal()})
            front.start(timeout=timeout)
            return FrontedServer(server, front)
        except BaseException as e:
            server.stop()
            if not isinstance(e, HarnessError) or "Address already in use" not in str(e) or front_port \
                    or attempt == 2:
                raise
    raise HarnessError("nginx front did not start")  # unreachable


# --- the command line: `serve` and `run` share these -----------------------------------------------------

FRONTS = ("nginx", "haproxy")


def add_front_arguments(p) -> None:
    g = p.add_argument_group("deployed shape (embedded target only)")
    g.add_argument("--front", choices=FRONTS, default=None,
                   help="put a reverse proxy in front of the embedded target: nginx (with basic auth for push), "
                   "or haproxy (a balancer before --backends N nodes, with health checks)")
    g.add_argument("--backends", dest="backend_count", type=int, default=None, metavar="N",
                   help="--front haproxy: start N embedded hgweb nodes over the same repositories behind it "
                   "(1 to 8; default 2); `run` then compares them (the fleet stage)")
    g.add_argument("--tls", action="store_true", default=False,
                   help="serve https from the front, with a certificate from a private CA made for the run")
    g.add_argument("--prefix", default=None, help="serve the site under a path prefix, e.g. /hg")


def check_front_arguments(args, embedded: bool) -> None:
    front, tls, prefix = getattr(args, "front", None), getattr(args, "tls", False), getattr(args, "prefix", None)
    count = getattr(args, "backend_count", None)
    if not embedded and (front or tls or prefix or count is not None):
        raise HarnessError("--front, --backends, --tls and --prefix shape the embedded target; for your own site put "
                           "the prefix and https:// in --target, and its nodes in --backend URL")
    if embedded and getattr(args, "backends", None):
        raise HarnessError("--backend lists the nodes of your own site (--target); the embedded target's come from "
                           "--front haproxy --backends N")
    if count is not None and front != "haproxy":
        raise HarnessError("--backends N starts N nodes behind a balancer: add --front haproxy")
    if front == "haproxy":
        from hgharness.haproxy import check_backend_count, find_haproxy

        check_backend_count(2 if count is None else count)
        if embedded:
            find_haproxy()  # a missing haproxy is one line, before fixtures are built or any node starts
        if tls or prefix:
            raise HarnessError("--tls and --prefix are the nginx front's in this build: use --front nginx")
        if getattr(args, "access_log", None):
            raise HarnessError("--access-log: every node of --front haproxy keeps its own access log (in the run "
                               "directory); use it without a front or with --front nginx")
    if tls and not front:
        raise HarnessError("--tls needs a front to terminate it: add --front nginx")
    normalize_prefix(prefix)


def start_hgweb_for_cli(args, repos_dir, workdir: Path, progress, **hgweb_kwargs):
    """The embedded hgweb target shaped by --front/--tls/--prefix (plain when none is given), running."""
    from hgharness.embedded import EmbeddedHgweb

    check_front_arguments(args, embedded=True)
    front, prefix = getattr(args, "front", None), normalize_prefix(getattr(args, "prefix", None))
    under = f" under {prefix}/" if prefix else ""
    if not front:  # gunicorn serves under the prefix itself (SCRIPT_NAME)
        server = EmbeddedHgweb(repos_dir, workdir=workdir / "server", prefix=prefix, **hgweb_kwargs)
        progress(f"starting hgweb (gunicorn, {server.workers} workers){under} ...")
        return server.start()
    port = hgweb_kwargs.pop("port", 0)  # the port users see is the front's
    if front == "haproxy":
        from hgharness.haproxy import start_hgweb_fleet

        count = getattr(args, "backend_count", None) or 2
        hgweb_kwargs.pop("access_log", None)  # each node keeps its own (check_front_arguments refused one file)
        progress(f"starting {count} hgweb nodes (gunicorn) behind haproxy ...")
        return start_hgweb_fleet(repos_dir, workdir, backends=count, front_port=port, **hgweb_kwargs)
    tls = bool(getattr(args, "tls", False))
    progress(f"starting hgweb (gunicorn) behind nginx{' with TLS (private CA)' if tls else ''}{under} ...")
    return start_hgweb_behind_nginx(repos_dir, workdir, prefix=prefix, tls=tls, front_port=port, **hgweb_kwargs)


def front_for(server, args, workdir: Path, users: dict[str, str] | None = None, port: int = 0) -> FrontedServer:
    """Put the front described by args before an already running server whose `url` is the upstream (e.g.
    Kallithea). The server must itself serve under the prefix, or its links will miss it."""
    front = NginxFront(server.url, Path(workdir) / "front", prefix=getattr(args, "prefix", None) or "",
                       tls=bool(getattr(args, "tls", False)), users=users, port=port)
    try:
        front.start()
    except BaseException:
        front.stop()
        raise
    return FrontedServer(server, front)


def target_options(args, server) -> dict:
    """Target settings for an embedded server (fronted or not): TLS trust, --insecure, the front's description.

    The harness made the CA, so it trusts it by default; --ca-bundle replaces it (to test another CA) and
    --insecure drops verification (reported loudly by the run)."""
    ca_file = getattr(server, "ca_file", None)
    insecure = bool(getattr(args, "insecure", False)) and bool(ca_file)
    opts = {"insecure": insecure, "front": server.describe_front() if hasattr(server, "describe_front") else ""}
    if getattr(server, "prefix", "") and not opts["front"]:
        opts["front"] = f"prefix=/{server.prefix.strip('/')}"
    if not insecure:
        opts["ca_bundle"] = getattr(args, "ca_bundle", None) or ca_file
    if getattr(server, "backends", None):  # a fleet behind a balancer: its nodes, each reached directly
        opts["backends"] = list(server.backends)
    return opts
