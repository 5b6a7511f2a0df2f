"""The forced command of the embedded sshd's keys: Mercurial over SSH for the repositories under one root, and
nothing else (in the spirit of Mercurial's contrib/hg-ssh, written here).

sshd runs it for every connection of a key whose authorized_keys line says
`command="PYTHON -m hgharness.hgssh --root DIR --hgrc FILE [--read-only]"`; the client's own command is in
SSH_ORIGINAL_COMMAND. Only `hg -R REPO serve --stdio` is served, REPO a repository under the root named by a
relative path. Anything else is refused with one line on stderr (the client shows it as "remote: ...") that
names what the client asked for and never the server's paths. A read-only key's pushes are refused by hooks
before any transaction opens, with the line READ_ONLY_MESSAGE.
"""

from __future__ import annotations

import argparse
import os
import posixpath
import shlex
import sys

READ_ONLY_MESSAGE = "hgharness-ssh: this key may only read: push refused"
REFUSED_EXIT = 255


def refuse(message: str) -> int:
    sys.stderr.write(f"hgharness-ssh: {message}\n")
    sys.stderr.flush()
    return REFUSED_EXIT


def reject_push(ui, **kwargs) -> bool:
    """A pretxnopen/prepushkey hook: a true result fails the hook, and with it the push."""
    ui.warn(READ_ONLY_MESSAGE.encode() + b"\n")
    return True


def repository(root: str, asked: str) -> str | None:
    """The repository directory `asked` names under root, or None (absolute, escaping, or not a repository)."""
    if not asked or asked.startswith(("/", "~")) or "\\" in asked:
        return None
    rel = posixpath.normpath(asked.strip("/"))
    if rel in (".", "") or rel.startswith("../") or rel == ".." or "/.hg" in f"/{rel}":
        return None
    path = os.path.join(root, rel)
    return path if os.path.isdir(os.path.join(path, ".hg")) else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="hgharness.hgssh")
    p.add_argument("--root", required=True)
    p.add_argument("--hgrc", required=True)
    p.add_argument("--read-only", action="store_true")
    args = p.parse_args(argv)
    asked = os.environ.get("SSH_ORIGINAL_COMMAND", "")
    try:
        words = shlex.split(asked)
    except ValueError:
        return refuse("not a Mercurial command")
    if len(words) != 5 or words[0] != "hg" or words[1] != "-R" or words[3:] != ["serve", "--stdio"]:
        return refuse("only 'hg -R REPOSITORY serve --stdio' is served here")
    path = repository(os.path.realpath(args.root), words[2])
    if path is None:
        return refuse(f"repository {words[2]!r} not found")
    os.environ["HGRCPATH"] = args.hgrc  # the server's settings only, not the account's ~/.hgrc
    os.environ.setdefault("HGENCODING", "UTF-8")
    try:  # as the hg script does: Mercurial's modules imported on first use (a process per connection)
        import hgdemandimport

        hgdemandimport.enable()
    except ImportError:
        pass
    from mercurial import dispatch
    from mercurial import ui as uimod

    try:  # Mercurial 7.2 moved the request class; older releases keep it in dispatch
        from mercurial.main_script import request
    except ImportError:
        request = dispatch.request
    req = request([b"-R", path.encode(), b"serve", b"--stdio"])  # exactly this: hg refuses anything more
    req.ui = uimod.ui.load()  # settings go on the request's ui, as contrib/hg-ssh does, not on the command line
    if args.read_only:
        for hook in (b"pretxnopen", b"prepushkey"):
            req.ui.setconfig(b"hooks", hook + b".hgharness_read_only", b"python:hgharness.hgssh.reject_push",
                             b"hgharness-ssh")
    return dispatch.dispatch(req) & 255

if __name__ == "__main__":
    sys.exit(main())
