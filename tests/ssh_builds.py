"""Deliberately broken SSH builds: forced commands for the embedded sshd (EmbeddedSshd(forced_command=...)).
Run as scripts by sshd's sessions, which do not inherit the tests' PYTHONPATH."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve()


def command(name: str) -> list[str]:
    return [sys.executable, str(HERE), name]


def scratch_copy(argv: list[str]) -> int:
    """Serves each connection from a scratch copy of the repositories, removed when it ends: every push is
    answered as accepted and then gone (a forced command pointed at the wrong place)."""
    from hgharness import hgssh

    root = Path(argv[argv.index("--root") + 1])
    with tempfile.TemporaryDirectory(prefix="hgharness-scratch-") as tmp:
        copy = Path(tmp) / "repos"
        shutil.copytree(root, copy, symlinks=True)
        argv = list(argv)
        argv[argv.index("--root") + 1] = str(copy)
        try:
            return hgssh.main(argv)
        except SystemExit as e:  # the hg dispatcher exits: the copy must still go
            return int(e.code or 0)


def ignores_read_only(argv: list[str]) -> int:
    """The read-only key is served as the push key is: its pushes land."""
    from hgharness import hgssh

    return hgssh.main([a for a in argv if a != "--read-only"])


if __name__ == "__main__":
    sys.exit({"scratch_copy": scratch_copy, "ignores_read_only": ignores_read_only}[sys.argv[1]](sys.argv[2:]))
