"""Mercurial client operations, in-process through Mercurial's API (no `hg` process per operation).

Credentials reach Mercurial through its [auth] config, never through a URL; a private CA through
`hostsecurity.<host>:verifycertsfile` and `web.cacerts`; `--insecure` through the ui's insecureconnections
(what `hg --insecure` sets), never by emptying the CA settings.
Proxies: Mercurial reads `http_proxy` only (not https_proxy), skips localhost and 127.0.0.1 on its own and
honours `no_proxy`; it tunnels https through that proxy with CONNECT. A loopback target is added to
`http_proxy.no`, so no proxy is ever asked for it.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path

from hgharness.errors import HarnessError, TargetFailure, is_bad_input

_lock = threading.Lock()


def b(s) -> bytes:
    return s if isinstance(s, bytes) else str(s).encode("utf-8", "surrogateescape")


def init_mercurial() -> None:
    """Register everything Mercurial's own command line registers (bundle2 part handlers, revsets...).

    Mercurial >= 7 keeps these registrations in `mercurial.initialization`; without it an in-process pull
    fails with "missing support for changegroup". Older releases register them on `mercurial.dispatch` import.
    """
    os.environ.setdefault("HGENCODING", "UTF-8")
    try:
        from mercurial import initialization

        initialization.init()
    except ImportError:
        from mercurial import dispatch  # noqa: F401


def make_ui(target=None, quiet: bool = True, auth: bool = True):
    """A Mercurial ui carrying the target's credentials and TLS settings."""
    init_mercurial()
    from mercurial import ui as uimod

    u = uimod.ui.load()
    u.setconfig(b"ui", b"interactive", b"false", b"hgharness")
    u.setconfig(b"ui", b"username", b"hgharness <hgharness@localhost>", b"hgharness")
    if quiet:
        u.setconfig(b"ui", b"quiet", b"true", b"hgharness")
    if target is not None:
        from hgharness.wirebounds import install

        install(getattr(target, "request_deadline", 120.0), getattr(target, "max_response_bytes", 64 * 2**20))
        for section, key, value in hg_config(target, auth=auth):
            u.setconfig(b(section), b(key), b(value), b"hgharness")
        if target.insecure and target.url.startswith("https://"):
            # `hg --insecure`: ui copies (peers, repositories opened with this ui) inherit it
            u.insecureconnections = True
    return u


def hg_config(target, auth: bool = True) -> list[tuple[str, str, str]]:
    out = []
    if auth and target.has_credentials():
        out += [("auth", "hgharness.prefix", target.url), ("auth", "hgharness.username", target.username),
                ("auth", "hgharness.password", target.password.reveal())]
    from hgharness.http import tls_verify

    verify = tls_verify(target) if target.url.startswith("https://") else None
    if isinstance(verify, str):  # the same CA file requests uses: --ca-bundle, else REQUESTS_CA_BUNDLE
        ca = str(Path(verify).resolve())
        # per host first (it wins over web.cacerts for that host); web.cacerts for a client that drops it
        out.append(("hostsecurity", f"{target.host}:verifycertsfile", ca))
        out.append(("web", "cacerts", ca))
    if target.is_loopback:  # Mercurial bypasses its proxy for localhost and 127.0.0.1 only (not ::1, *.localhost)
        out.append(("http_proxy", "no", target.host))
    return out


def ssh_command(target) -> str:
    """ui.ssh for a target's SSH transport: its key only, the host key checked against its known_hosts file and
    nothing else (no agent, no user or system ssh config, no prompt). Each connection (one operation) is bounded
    by the target's request deadline, as an HTTP answer is: `timeout` ends an ssh whose server stalls."""
    import shlex

    deadline = f"{getattr(target, 'request_deadline', 120.0):g}"
    argv = ["timeout", "--kill-after=5", deadline, "ssh", "-F", "/dev/null", "-i", target.ssh_key, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={target.ssh_known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=15",
            "-o", "ServerAliveCountMax=4", "-o", "LogLevel=ERROR"]
    return " ".join(shlex.quote(a) for a in argv)


def clone_url(target, repo: str) -> str:
    return target.url_for(target.site.repo_path(repo))


@contextmanager
def quiet_ui_errors(what: str, target=None):
    import ssl
    import urllib.error

    from mercurial import error

    from hgharness.wirebounds import WireAnswerTooLarge, WireDeadlineExceeded

    try:
        yield
    except error.Abort as e:
        text = e.message.decode(errors="replace")
        tls = _tls_line(target, text)
        if tls or is_bad_input(text):
            raise HarnessError(tls or f"{what}: {text}") from None
        raise TargetFailure(f"{what}: {text}") from None  # the site answered, and broke the operation
    except error.RepoError as e:
        raise HarnessError(f"{what}: {e}") from None
    except (WireDeadlineExceeded, WireAnswerTooLarge) as e:
        raise TargetFailure(f"{what}: {e}") from None
    except (urllib.error.URLError, ssl.SSLError) as e:
        # the TLS handshake fails inside urllib: same one line as requests gives (hgharness.http)
        reason = getattr(e, "reason", e)
        raise HarnessError(_tls_line(target, str(reason)) or f"{what}: {reason}") from None


def _tls_line(target, text: str) -> str | None:
    if target is None:
        return None
    from hgharness.http import tls_problem

    line = tls_problem(target, text)
    return line and line + " (from Mercurial's client)"


def clone(target, repo: str, dest: str | Path, auth: bool = True, update: bool = False):
    """Clone `repo` from the target into `dest`; returns the local repository object."""
    from mercurial import hg

    u = make_ui(target, auth=auth)
    with quiet_ui_errors(f"clone of {repo} from {target.url} failed", target):
        _src, dst = hg.clone(u, {"insecure": target.insecure}, b(clone_url(target, repo)), b(str(dest)),
                             update=update)
    return dst.local()


def open_repo(path: str | Path, target=None):
    from mercurial import hg

    return hg.repository(make_ui(target), b(str(path)))


def peer(target, repo: str, auth: bool = True):
    from mercurial import hg

    u = make_ui(target, auth=auth)
    with quiet_ui_errors(f"cannot reach {repo} on {target.url}", target):
        return hg.peer(u, {"insecure": target.insecure}, b(clone_url(target, repo)))


def nodes(repo, view: bytes | None = None) -> list[str]:
    """Changeset hashes of a local repository, in revision order: all of them, or those of a repoview
    (view=b"served": what a server publishes, no secret or hidden changesets)."""
    cl = (repo.filtered(view) if view else repo.unfiltered()).changelog
    return [cl.node(r).hex() for r in cl]
