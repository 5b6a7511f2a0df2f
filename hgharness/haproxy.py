"""An HAProxy front on loopback before N backends, so an embedded target has the shape of a deployed fleet.

    client ──http──> haproxy 127.0.0.1:P0 ──roundrobin──> backend 1 (gunicorn hgweb) 127.0.0.1:P1
                                                     ├──> backend 2 127.0.0.1:P2 ...

What it does, as a production balancer would: every request goes to the next backend in turn (roundrobin, so
every node is hit), each backend is health-checked (`option httpchk GET /` and `check` on its server line; a
node that fails its checks is taken out), no body limit and long timeouts for big pushes and clones, and
X-Forwarded-For/Proto for the backends. Its access log (httplog: no headers, so no Authorization) and its health
check events go to its stderr, kept in the work directory.

HAProxy runs in the foreground (`haproxy -db -f CONFIG`) with a config, and nothing else, in its work directory;
it writes no pid file or socket anywhere else. Stopped by PID like every child of the harness.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.parse
from pathlib import Path

from hgharness.errors import HarnessError
from hgharness.procs import BASE_TIMEOUT
from hgharness.server import FrontedServer, ManagedServer, free_port, last_line

HAPROXY_CANDIDATES = ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy")
# lines of HAProxy's log that mean the front or a node is broken (not a client's bad request)
PROBLEM_RE = re.compile(r"^.*\[ALERT\].*$|^.*Server \S+ is DOWN.*$|^.*has no server available.*$", re.M)
MAX_BACKENDS = 8


def find_haproxy() -> str:
    for path in (shutil.which("haproxy"), *HAPROXY_CANDIDATES):
        if path and os.access(path, os.X_OK):
            return path
    raise HarnessError("haproxy is not installed: apt-get install haproxy (scripts/setup.sh does it as root)")


class HAProxyFront(ManagedServer):
    """HAProxy before `backends` (http://HOST:PORT/ URLs on loopback). Context manager or start()/stop()."""

    what, process_name = "haproxy front", "haproxy"
    PROBLEM_RE = PROBLEM_RE
    ca_file = None  # plain HTTP: no CA to hand to clients
    check_interval_ms = 1000

    def __init__(self, backends: list[str], workdir: str | Path, host: str = "127.0.0.1", port: int = 0):
        if not backends:
            raise HarnessError("an haproxy front needs at least one backend")
        for url in backends:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme != "http" or not parts.hostname or not parts.port or parts.path.strip("/"):
                raise HarnessError(f"haproxy backend must be http://HOST:PORT/, not {url!r}")
        # the port is fixed here: the backends may need the front's URL (hgweb's baseurl) before it starts
        super().__init__(workdir, host, port or free_port(host))
        self.backends = list(backends)
        self.conf_file = self.workdir / "haproxy.cfg"
        self.stderr_log = self.workdir / "haproxy.log"  # its log lines (access, health checks) and alerts
        self.error_log = self.stderr_log

    def describe(self) -> str:
        return f"haproxy ({len(self.backends)} backends)"

    def render(self) -> str:
        """The haproxy.cfg text (public so a test or a user can read exactly what runs)."""
        listen = f"{self.host}:{self.port}" if ":" not in self.host else f"[{self.host}]:{self.port}"
        servers = []
        for i, url in enumerate(self.backends, 1):
            parts = urllib.parse.urlsplit(url)
            servers.append(f"    server node{i} {parts.hostname}:{parts.port} check inter {self.check_interval_ms} "
                           "fall 2 rise 1")
        lines = [
            "global",
            "    log stderr format raw local0 info",
            "    maxconn 512",
            "",
            "defaults",
            "    mode http",
            "    log global",
            "    option httplog",      # method, path and query, status, timings; never a header
            "    option dontlognull",
            "    option forwardfor",   # X-Forwarded-For
            "    option redispatch",   # a node that refuses a connection: the request goes to another (retries)
            "    retries 2",
            "    timeout connect 5s",
            "    timeout client 300s",  # big pushes and clones stream through
            "    timeout server 300s",
            "    timeout http-request 60s",
            "    timeout check 5s",
            "",
            "frontend hgharness_front",
            f"    bind {listen}",
            "    http-request set-header X-Forwarded-Proto http",
            "    default_backend hgharness_nodes",
            "",
            "backend hgharness_nodes",
            "    balance roundrobin",   # every node serves its share: a node that differs is met by every client
            "    option httpchk GET /",
            *servers,
        ]
        return "\n".join(lines) + "\n"

    def argv(self) -> list[str]:
        return [find_haproxy(), "-db", "-f", str(self.conf_file)]

    def port_changed(self) -> None:
        self.conf_file.write_text(self.render())

    def startup_error(self, log: str) -> str:
        bad = [ln for ln in log.splitlines() if "[ALERT]" in ln]
        return bad[-1].strip() if bad else last_line(log)

    def _start(self, timeout: float) -> None:
        haproxy = find_haproxy()
        self.conf_file.write_text(self.render())
        test = subprocess.run([haproxy, "-c", "-q", "-f", str(self.conf_file)], capture_output=True, text=True,
                              timeout=60, cwd=self.workdir)
        if test.returncode != 0:
            raise HarnessError(f"haproxy rejected its configuration {self.conf_file}: "
                               f"{self.startup_error(test.stderr + test.stdout)}")
        self.launch(timeout)

    def problems(self) -> list[str]:
        return self.tracebacks()


class FleetServer(FrontedServer):
    """N embedded servers behind one HAProxy front, as clients see them: the URL is the front's, `backends` are
    the nodes' own URLs; logs, stop() and the traceback check cover every process (FrontedServer over several
    servers). Everything else (repos_dir, username, password...) is the first node's: every node serves the same
    repositories with the same user."""

    def __init__(self, servers: list, front: HAProxyFront):
        super().__init__(servers[0], front)
        self.servers = list(servers)

    @property
    def backends(self) -> list[str]:
        return [s.url for s in self.servers]

    def target_options(self) -> dict:
        opts = super().target_options()
        opts.update(backends=self.backends)
        return opts


def check_backend_count(n) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_BACKENDS:
        raise HarnessError(f"--backends must be a number of backends from 1 to {MAX_BACKENDS}, not {n!r}")
    return n


def start_hgweb_fleet(repos_dir, workdir: str | Path, backends: int = 2, front_port: int = 0,
                      timeout: float = BASE_TIMEOUT, password: str | None = None, **hgweb_kwargs) -> FleetServer:
    """N embedded hgweb nodes (gunicorn) over the same repositories behind HAProxy; all running on return.

    Every node has the same push user and password, and hgweb's web.baseurl is the front's URL, so the pages
    and feeds of every node link to the front, as a deployed fleet's do."""
    import secrets

    from hgharness.embedded import EmbeddedHgweb

    check_backend_count(backends)
    find_haproxy()  # before any node starts: a missing haproxy is one line
    workdir = Path(workdir)
    password = password or secrets.token_urlsafe(18)
    hgweb_kwargs.pop("port", None)  # the port users see is the front's
    for attempt in range(1 if front_port else 3):
        port = front_port or free_port()
        servers = []
        try:
            for i in range(1, backends + 1):
                node = EmbeddedHgweb(repos_dir, workdir=workdir / f"node{i}", password=password,
                                     base_url=f"http://127.0.0.1:{port}", **hgweb_kwargs)
                # one name per node, as the run directory keeps the logs side by side
                node.error_log = node.workdir / f"gunicorn-error-node{i}.log"
                node.access_log = node.workdir / f"gunicorn-access-node{i}.log"
                servers.append(node.start(timeout=timeout))
            front = HAProxyFront([s.url for s in servers], workdir / "front", port=port)
            front.start(timeout=timeout)
            return FleetServer(servers, front)
        except BaseException as e:
            for s in servers:
                s.stop()
            if not isinstance(e, HarnessError) or "Address already in use" not in str(e) or front_port \
                    or attempt == 2:
                raise
    raise HarnessError("haproxy front did not start")  # unreachable
