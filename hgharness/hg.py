"""Mercurial client operations, in-process through Mercurial's API (no `hg` process per operation).

Credentials reach Mercurial through its [auth] config, never through a URL; a private CA through
`web.cacerts`; `--insecure` through `insecure` on the peer-level config.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path

from hgharness.errors import HarnessError

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
        for section, key, value in hg_config(target, auth=auth):
            u.setconfig(b(section), b(key), b(value), b"hgharness")
    return u


def hg_config(target, auth: bool = True) -> list[tuple[str, str, str]]:
    out = []
    if auth and target.has_credentials():
        out += [("auth", "hgharness.prefix", target.url), ("auth", "hgharness.username", target.username),
                ("auth", "hgharness.password", target.password.reveal())]
    if target.url.startswith("https://"):
        if target.insecure:
            out.append(("web", "cacerts", ""))
            out.append(("hostsecurity", f"{target.host}:verifycertsfile", ""))
        elif target.ca_bundle:
            out.append(("web", "cacerts", str(Path(target.ca_bundle).resolve())))
    return out


def clone_url(target, repo: str) -> str:
    return target.url_for(target.site.repo_path(repo))


@contextmanager
def quiet_ui_errors(what: str):
    from mercurial import error

    try:
        yield
    except error.Abort as e:
        raise HarnessError(f"{what}: {e.message.decode(errors='replace')}") from None
    except error.RepoError as e:
        raise HarnessError(f"{what}: {e}") from None


def clone(target, repo: str, dest: str | Path, auth: bool = True, update: bool = False):
    """Clone `repo` from the target into `dest`; returns the local repository object."""
    from mercurial import hg

    u = make_ui(target, auth=auth)
    if target.insecure:
        u.setconfig(b"web", b"cacerts", b"", b"hgharness")
    with quiet_ui_errors(f"clone of {repo} from {target.url} failed"):
        _src, dst = hg.clone(u, {"insecure": target.insecure}, b(clone_url(target, repo)), b(str(dest)),
                             update=update)
    return dst.local()


def open_repo(path: str | Path, target=None):
    from mercurial import hg

    return hg.repository(make_ui(target), b(str(path)))


def peer(target, repo: str, auth: bool = True):
    from mercurial import hg

    u = make_ui(target, auth=auth)
    with quiet_ui_errors(f"cannot reach {repo} on {target.url}"):
        return hg.peer(u, {"insecure": target.insecure}, b(clone_url(target, repo)))


def nodes(repo) -> list[str]:
    """All changeset hashes of a local repository, in revision order."""
    cl = repo.unfiltered().changelog
    return [cl.node(r).hex() for r in cl]
