"""Helpers for the headless-suite tests: a small hostile repository, a fixture directory serving it beside the
seed repository and a scratch repository for pushes, and a way to run the suites against a target."""

from __future__ import annotations

import shutil
from pathlib import Path

# Metadata that attacks a web UI; each must be valid for Mercurial (labels: no ':' or newline; paths: no '..').
DESC = ("Fix <script>alert('desc')</script> and \"quotes\" & 'apostrophes'\n\n"
        "See javascript:alert(2) and <img src=x onerror=alert('desc-img')> \u202eRTL\u202c caf\u00e9")
AUTHOR = "Mallory <script>alert('author')</script> <mallory\"@example.org>"
FILES = {
    "docs/<script>alert('file')</script>.txt": b"a file with a hostile name\n",
    "x\" onmouseover=\"alert('attr').txt": b"attribute breakout\n",
    "javascript:alert('name').js": b"// a script url as a name\n",
    "..%2f..%2fetc%2fpasswd": b"looks like traversal\n",
    "evil.html": b"<html><body><script>alert('raw')</script></body></html>\n",
    "evil.svg": b"<svg xmlns='http://www.w3.org/2000/svg' onload=\"alert('svg')\"/>\n",
    "plain.txt": b"one\ntwo\nthree\n",
    "caf\u00e9.txt": b"a non-ASCII name\n",
    "link-to-plain": b"plain.txt",  # a symlink (see LINKS)
}
LINKS = {"link-to-plain"}
BRANCH = "br<b>anch\"onmouseover=alert('branch')"
TAG = "<img src=x onerror=alert('tag')>"
BOOKMARK = "bm\"><script>alert('bookmark')</script>"


def build_hostile_repo(path: str | Path) -> str:
    """A few changesets whose messages, author, file names, branch, tag and bookmark are hostile."""
    from mercurial import context, hg, tags

    from hgharness.hg import make_ui

    repo = hg.repository(make_ui(), str(path).encode(), create=True)

    def commit(parents, files, message, user, branch=b"default", i=0):
        def filectx(repo_, mctx, p):
            return context.memfilectx(repo_, mctx, p, files[p], isexec=p.endswith(b".js"),
                                      islink=p.decode() in LINKS)

        ctx = context.memctx(repo, parents, message.encode(), sorted(files), filectx, user=user.encode(),
                             date=(1700000000 + i * 60, 0), branch=branch)
        return repo.commitctx(ctx)

    with repo.wlock(), repo.lock(), repo.transaction(b"hostile"):
        n = commit((None, None), {k.encode(): v for k, v in FILES.items()}, DESC, AUTHOR, i=0)
        n = commit((n, None), {b"plain.txt": b"one\ntwo\nthree\nfour\n"}, "Plain <b>bold</b> message",
                   "Eve <eve@example.org>", i=1)
        b = commit((n, None), {b"branch.txt": b"on a hostile branch\n"}, "On branch " + BRANCH, AUTHOR,
                   branch=BRANCH.encode(), i=2)
    tags.tag(repo, [TAG.encode()], b, f"Tag {TAG}".encode(), False, AUTHOR.encode(), (1700000500, 0),
             editor=False)
    with repo.wlock(), repo.lock(), repo.transaction(b"bookmark") as tr:
        repo._bookmarks.applychanges(repo, tr, [(BOOKMARK.encode(), n)])
    return repo[b"tip"].hex().decode()


def build_suite_repos(dest: Path) -> Path:
    """seed `demo` + `hostile` + `scratch` (a copy of demo, for pushes)."""
    from hgharness.fixtures.seed import build_seed_repo

    dest.mkdir(parents=True, exist_ok=True)
    build_seed_repo(dest / "demo")
    build_hostile_repo(dest / "hostile")
    shutil.copytree(dest / "demo", dest / "scratch", symlinks=True)
    return dest


def assert_only_these_caught(stage, caught: dict, is_new, what: str) -> None:
    """A run against a target broken in several ways: it failed (exit 1); every failing check is one of the new
    ones (is_new(test) says which); and each defect of `caught` (defect -> (a part of the failing check's id, a
    part of its message)) failed a check that names it."""
    failed = [t for t in stage.tests if t["outcome"] in ("failed", "error")]
    assert stage.exit_code == 1, f"exit {stage.exit_code} ({stage.detail}), expected 1"
    other = [t for t in failed if not is_new(t)]
    assert not other, f"a check other than {what} caught a defect: " + "; ".join(
        f"{t['id']}: {(t['message'] or '')[:200]}" for t in other[:3])
    missed = [d for d, (check_id, says) in caught.items()
              if not any(check_id in t["id"] and says in (t["message"] or "") for t in failed)]
    assert not missed, (f"defects no check named: {missed}; failures: "
                        + "; ".join(f"{t['id']}: {(t['message'] or '')[:300]}" for t in failed[:8]))
