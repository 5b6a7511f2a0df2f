"""A deliberately broken server for the lost-changeset test: a hook that accepts a push and then drops it.

`install(repo_path)` adds a `txnclose` hook to a served repository's .hg/hgrc. The hook runs in the hgweb
worker after the push's transaction closed and before the response is sent, so the client is told the push
succeeded. It strips every changeset of the first push it sees, and from then on strips again any changeset it
dropped before (a client re-pushing a dropped ancestor), with everything that was built on it. Every node it
strips is appended to .hg/hgharness-dropped (one hex per line), so a test can compare the harness's lost list
with what the server really dropped.
"""

from __future__ import annotations

from pathlib import Path

DROPPED_FILE = "hgharness-dropped"


def install(repo_path: str | Path) -> None:
    hgrc = Path(repo_path) / ".hg" / "hgrc"
    text = hgrc.read_text() if hgrc.exists() else ""
    text += f"\n[hooks]\ntxnclose.hgharness_drop = python:{Path(__file__).resolve()}:drop_pushed\n"
    hgrc.write_text(text)


def dropped(repo_path: str | Path) -> set[str]:
    path = Path(repo_path) / ".hg" / DROPPED_FILE
    return set(path.read_text().split()) if path.exists() else set()


def drop_pushed(ui, repo, node=None, node_last=None, **kwargs):
    from mercurial import repair
    from mercurial.node import bin, hex

    repo = repo.unfiltered()
    with repo.wlock(), repo.lock():
        cl = repo.changelog
        if node is None or not cl.hasnode(bin(node)):
            return False
        first = cl.rev(bin(node))
        last = cl.rev(bin(node_last)) if node_last and cl.hasnode(bin(node_last)) else len(cl) - 1
        incoming = [cl.node(r) for r in range(first, last + 1)]
        before = {bin(h) for h in dropped(repo.root.decode())}
        victims = incoming if not before else [n for n in incoming if n in before]
        if not victims:
            return False
        gone = [cl.node(r) for r in repo.revs(b"%ln::", victims)]
        with open(Path(repo.root.decode()) / ".hg" / DROPPED_FILE, "a") as f:
            f.write("".join(hex(n).decode() + "\n" for n in gone))
        repair.strip(ui, repo, victims, backup=False)
    return False  # success: the client must not learn anything
