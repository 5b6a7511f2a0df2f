"""Wire-protocol operations for the checks, in-process through Mercurial: clone, pull, and a push of one new
commit with a chosen identity (the target's credentials, none, or a wrong password).

A refusal by the target is a result, not an exception; only an unreachable target raises HarnessError (the
run then reports a harness error, exit 2).
"""

from __future__ import annotations

import dataclasses
import secrets
import urllib.error
from pathlib import Path

from hgharness import hg
from hgharness.errors import HarnessError
from hgharness.http import probe
from hgharness.secrets import Secret, redact


@dataclasses.dataclass
class PushResult:
    accepted: bool
    node: str
    message: str = ""


def clone(target, repo: str, dest: Path, auth: bool = False):
    """Clone, telling a target that refuses (HTTP error, broken stream) from one that cannot be reached."""
    try:
        return hg.clone(target, repo, dest, auth=auth)
    except HarnessError as e:
        probe(target)  # raises HarnessError again when the target is really unreachable
        raise AssertionError(f"clone of {repo} failed: {e}") from None


def peer(target, repo: str, auth: bool = False):
    try:
        return hg.peer(target, repo, auth=auth)
    except HarnessError as e:
        probe(target)
        raise AssertionError(f"the wire protocol of {repo} does not answer: {e}") from None


def pull(target, local, repo: str, auth: bool = False) -> None:
    from mercurial import exchange

    remote = peer(target, repo, auth=auth)
    try:
        exchange.pull(local, remote)
    finally:
        remote.close()


def commit_new_head(local, label: str) -> bytes:
    """Commit one new file on top of tip, in process (no working directory); returns the node."""
    from mercurial import context

    name = f"hgharness-push/{label}-{secrets.token_hex(6)}.txt".encode()
    parent = local[b"tip"].node()

    def filectx(repo, mctx, path):
        return context.memfilectx(repo, mctx, path, b"pushed by the hgharness wire-protocol check\n")

    with local.wlock(), local.lock(), local.transaction(b"hgharness-push"):
        ctx = context.memctx(local, (parent, None), b"hgharness push check: " + label.encode(), [name], filectx,
                             user=b"hgharness <hgharness@localhost>")
        return local.commitctx(ctx)


def identity(target, who: str):
    """A copy of the target pushing as the target's user ('user'), anonymously ('anonymous') or with a wrong
    password ('wrong-password')."""
    if who == "user":
        return target
    if who == "anonymous":
        return dataclasses.replace(target, username=None, password=None)
    if who == "wrong-password":
        return dataclasses.replace(target, username=target.username or "hgharness",
                                   password=Secret("wrong-" + secrets.token_urlsafe(12)))
    raise ValueError(who)


def push(target, local, repo: str, node: bytes, who: str) -> PushResult:
    """Push `node` as `who`; accepted only if the target says so and then knows the node."""
    from mercurial import error, exchange

    t = identity(target, who)
    remote = peer(t, repo, auth=t.has_credentials())
    try:
        op = exchange.push(local, remote, force=True, revs=[node])
        accepted, message = bool(op.cgresult), "" if op.cgresult else "the server did not add the changeset"
    except (error.Abort, error.ResponseError, urllib.error.HTTPError) as e:
        accepted, message = False, _message(e)
    except urllib.error.URLError as e:
        probe(target)
        accepted, message = False, f"{e.reason}"
    finally:
        remote.close()
    return PushResult(accepted, node.hex(), redact(message))


def known(target, repo: str, node: bytes) -> bool:
    remote = peer(target, repo, auth=False)
    try:
        return bool(remote.known([node])[0])
    finally:
        remote.close()


def _message(e) -> str:
    msg = getattr(e, "message", None)
    if isinstance(msg, bytes):
        return msg.decode(errors="replace")
    return str(e) or type(e).__name__
