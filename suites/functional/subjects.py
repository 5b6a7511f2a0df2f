"""What the flows look at, picked from whatever fixture repositories the target serves, and what the pages
must show about it, read from the local copy of each repository (the harness knows every node and byte).

Nothing is hard-coded: a flow asks for "a merge", "a small text file", "a repository with tags" and gets the
first one found in a non-hostile repository (the `hostile` one has its own flow), or a named skip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import pytest

from hgharness.suites.pages.base import norm

HOSTILE = "hostile"
MAX_FILE_BYTES = 8192
WORD_RE = re.compile(rb"[A-Za-z]{5,20}")


def _s(b: bytes) -> str:
    return b.decode("utf-8", "replace")


@dataclass
class Change:
    node: str
    rev: int
    author: str
    person: str  # the name part, whitespace-normalized, as log pages show it
    description: str
    files: list[str]
    kept: list[str]  # files still there after the change (the page links those; removed ones are plain text)
    parents: list[str]
    branch: str

    @property
    def short(self) -> str:
        return self.node[:12]

    @property
    def summary(self) -> str:
        """The description's first line as log pages show it (hgweb's strip|firstline work on bytes)."""
        lines = self.description.encode("utf-8").strip().splitlines()
        return norm(_s(lines[0])) if lines else ""


@dataclass
class FileAt:
    repo: str
    node: str
    path: str
    data: bytes
    annotate: list[tuple[str, str]] = field(default_factory=list)  # (short node, line) per line

    @property
    def lines(self) -> list[str]:
        return _s(self.data).splitlines()

    @property
    def directory(self) -> str:
        return self.path.rsplit("/", 1)[0] if "/" in self.path else ""


class RepoFacts:
    """One local fixture repository, seen as the web pages should show it (the `served` view)."""

    def __init__(self, name: str, path):
        from hgharness import hg

        self.name = name
        self.path = path
        self.repo = hg.open_repo(path).filtered(b"served")

    def __repr__(self):
        return f"RepoFacts({self.name!r})"

    def change(self, rev_or_node) -> Change:
        from mercurial.utils import stringutil

        ctx = self.repo[rev_or_node]
        return Change(node=ctx.hex().decode(), rev=ctx.rev(), author=_s(ctx.user()),
                      person=norm(_s(stringutil.person(ctx.user()))), description=_s(ctx.description()),
                      files=[_s(f) for f in ctx.files()], kept=[_s(f) for f in ctx.files() if f in ctx],
                      parents=[p.hex().decode() for p in ctx.parents()],
                      branch=_s(ctx.branch()))

    @cached_property
    def revs(self) -> list[int]:
        """Newest first, the order of log and graph pages."""
        return list(reversed(list(self.repo.changelog.revs())))

    @cached_property
    def shorts(self) -> list[str]:
        """Short nodes, newest first."""
        cl = self.repo.changelog
        return [cl.node(r).hex()[:12] for r in self.revs]

    def newest(self, count: int) -> list[Change]:
        return [self.change(r) for r in self.revs[:count]]

    def __len__(self):
        return len(self.revs)

    @property
    def tip(self) -> Change:
        return self.change(b"tip")

    @cached_property
    def merges(self) -> list[int]:
        cl = self.repo.changelog
        return [r for r in self.revs if cl.parentrevs(r)[1] != -1]

    @cached_property
    def tags(self) -> dict[str, str]:
        return {_s(n): h.hex()[:12] for n, h in self.repo.tagslist()}

    @cached_property
    def branches(self) -> dict[str, str]:
        bm = self.repo.branchmap()
        return {_s(b): bm.branchtip(b).hex()[:12] for b in bm}

    @cached_property
    def bookmarks(self) -> dict[str, str]:
        return {_s(n): h.hex()[:12] for n, h in self.repo._bookmarks.items()}

    def plain_change(self, adds_lines: bool = False) -> Change | None:
        """The newest non-merge changeset that changes a small text file still present after it (and, with
        adds_lines, gives it a line its parent's version did not have: a change that only removes lines, as a
        push of an earlier run may be, has no added line for a diff to show)."""
        for r in self.revs:
            ctx = self.repo[r]
            if len(ctx.parents()) > 1:
                continue
            if self._changed_text_files(ctx, adds_lines):
                return self.change(r)
        return None

    def _changed_text_files(self, ctx, adds_lines: bool = False) -> list[bytes]:
        return [f for f in ctx.files() if self._text_file(ctx, f) and (not adds_lines or self._adds_lines(ctx, f))]

    @staticmethod
    def _adds_lines(ctx, f: bytes) -> bool:
        p1 = ctx.p1()
        old = set(p1[f].data().split(b"\n")) if f in p1 else set()
        return bool(set(ctx[f].data().split(b"\n")) - old - {b""})

    def text_file(self, change: Change, adds_lines: bool = False) -> FileAt | None:
        """A small text file changed by `change` (preferably in a directory), with its annotation."""
        ctx = self.repo[change.node.encode()]
        candidates = self._changed_text_files(ctx, adds_lines)
        if not candidates:
            return None
        candidates.sort(key=lambda f: (b"/" not in f, len(f)))
        f = candidates[0]
        fctx = ctx[f]
        ann = [(line.fctx.hex()[:12].decode(), _s(line.text).rstrip("\r\n")) for line in fctx.annotate(follow=True)]
        return FileAt(self.name, change.node, _s(f), fctx.data(), ann)

    @staticmethod
    def _text_file(ctx, f: bytes) -> bool:
        if f not in ctx:
            return False
        fctx = ctx[f]
        if fctx.size() > MAX_FILE_BYTES or fctx.islink():
            return False
        data = fctx.data()
        if b"\0" in data or b"\r" in data or data.count(b"\n") < 2:
            return False
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    def manifest(self, node: str) -> list[str]:
        return [_s(f) for f in self.repo[node.encode()].manifest()]

    def listing(self, node: str, directory: str = "") -> list[str]:
        """A directory at a revision as the file browser lists it: subdirectories (ending in /), then files."""
        prefix = directory.strip("/") + "/" if directory.strip("/") else ""
        dirs, files = set(), set()
        for f in self.manifest(node):
            if f.startswith(prefix):
                rest = f[len(prefix):]
                if "/" in rest:
                    dirs.add(rest.split("/", 1)[0])
                else:
                    files.add(rest)
        return [d + "/" for d in sorted(dirs)] + sorted(files)  # sorted by name: "link" before "link-x"

    @cached_property
    def keyword(self) -> tuple[str, list[str]] | None:
        """A word that hgweb's keyword search finds in few changesets, and their short nodes (newest first)."""
        from mercurial import encoding

        texts = []
        for r in self.revs:
            ctx = self.repo[r]
            texts.append((ctx.hex().decode()[:12], encoding.lower(ctx.user()) + b"\n" + encoding.lower(ctx.description())
                          + b"\n" + encoding.lower(b" ".join(ctx.files()))))
        words = set()
        for r in self.revs[:300]:
            words.update(w.lower() for w in WORD_RE.findall(self.repo[r].description()))
        best = None
        for w in sorted(words):
            if self._resolves(w):
                continue
            hits = [n for n, t in texts if w in t]
            if hits and (best is None or len(hits) < len(best[1])):
                best = (w.decode(), hits)
        return best

    def _resolves(self, word: bytes) -> bool:
        """hgweb treats a query that names a revision (tag, branch, bookmark, hash prefix) as an exact search."""
        from mercurial import error, scmutil

        try:
            scmutil.revsymbol(self.repo, word)
            return True
        except (error.RepoError, error.LookupError):
            return False
        except Exception:
            return True


class Subjects:
    """Every served fixture repository, and pickers that name what they could not find."""

    def __init__(self, fixture_repos: dict):
        self.all = {name: RepoFacts(name, path) for name, path in sorted(fixture_repos.items())}
        if not self.all:
            pytest.skip("the target serves no fixture repository")

    @property
    def plain(self) -> list[RepoFacts]:
        """Non-hostile repositories, those with the most history first (they have something on every page)."""
        repos = [r for n, r in self.all.items() if n != HOSTILE and n.split("/")[-1] != HOSTILE]
        return sorted(repos, key=lambda r: (-min(len(r), 50), r.name)) or list(self.all.values())

    def repo(self, need: str = "", pred=None) -> RepoFacts:
        for r in self.plain:
            if pred is None or pred(r):
                return r
        pytest.skip(f"no fixture repository has {need}")

    @property
    def main(self) -> RepoFacts:
        return self.repo("changesets", lambda r: len(r) >= 2)

    def smallest(self, need: str, pred) -> RepoFacts:
        found = sorted((r for r in self.plain if pred(r)), key=len)
        if not found:
            pytest.skip(f"no fixture repository has {need}")
        return found[0]

    def plain_change(self, adds_lines: bool = False) -> tuple[RepoFacts, Change]:
        for r in self.plain:
            change = r.plain_change(adds_lines)
            if change:
                return r, change
        pytest.skip("no fixture repository has a changeset that changes a small text file"
                    + (" adding lines" if adds_lines else ""))

    def merge(self) -> tuple[RepoFacts, Change]:
        r = self.repo("a merge", lambda r: r.merges)
        return r, r.change(r.merges[0])

    def file(self) -> tuple[RepoFacts, FileAt]:
        """A small text file as a change gave it lines (what the diff, file and annotate views must show)."""
        r, change = self.plain_change(adds_lines=True)
        return r, r.text_file(change, adds_lines=True)

    def hostile(self) -> RepoFacts:
        for name, r in self.all.items():
            if name == HOSTILE or name.split("/")[-1] == HOSTILE:
                return r
        pytest.skip(f"no fixture repository named {HOSTILE!r}")


def differ(what: str, shown, expected) -> str:
    """One line saying where what the page shows departs from the repository (for assertion messages)."""
    if isinstance(shown, (list, tuple)) and isinstance(expected, (list, tuple)):
        for i, (s, e) in enumerate(zip(shown, expected, strict=False)):
            if s != e:
                return f"{what}: item {i + 1} shows {_cut(s)}, the repository has {_cut(e)}"
        return f"{what}: the page shows {len(shown)} items, the repository has {len(expected)}"
    if isinstance(shown, dict) and isinstance(expected, dict):
        extra = {k: shown[k] for k in shown if expected.get(k) != shown[k]}
        missing = {k: expected[k] for k in expected if shown.get(k) != expected[k]}
        return f"{what}: the page shows {_cut(extra)} where the repository has {_cut(missing)}"
    return f"{what}: the page shows {_cut(shown)}, the repository has {_cut(expected)}"


def _cut(value, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
