"""What a page should show, read from the local fixture repository (the harness knows every node and byte).

Every expectation is computed through Mercurial's API on the `served` view of the repository (what hgweb
serves: no secret or obsolete changesets). Text is decoded as UTF-8 with replacement; a comparison that meets
a replacement character skips that value rather than guessing how a site renders undecodable bytes.
"""

from __future__ import annotations

import functools
from pathlib import Path

NULL_HEX = "0" * 40


def text(value: bytes | str) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def person(author: str) -> str:
    """The name part of 'Name <email>' (what log pages show)."""
    return author.split("<", 1)[0].strip() or author


def email(author: str) -> str:
    if "<" in author and ">" in author:
        return author.split("<", 1)[1].split(">", 1)[0].strip()
    return ""


def is_binary(data: bytes) -> bool:
    return b"\0" in data


class Repo:
    """A local fixture repository and the facts pages are checked against. One per path per process."""

    def __init__(self, path: str | Path):
        from hgharness import hg

        self.path = Path(path)
        self.repo = hg.open_repo(self.path).filtered(b"served")

    def __len__(self):
        return len(self.repo)

    def ctx(self, rev):
        return self.repo[rev]

    @functools.cached_property
    def revs_desc(self) -> list[int]:
        """Revision numbers newest first: the order of log pages, feeds and json-log."""
        return list(reversed(list(self.repo.changelog.revs())))

    def has_rev(self, name: str) -> bool:
        """Does a revision name (tag, branch, bookmark, hash prefix, number) resolve in this repository?"""
        from mercurial import error, scmutil

        try:
            scmutil.revsymbol(self.repo, name.encode())
            return True
        except (error.RepoLookupError, error.LookupError):
            return False

    def hex(self, rev) -> str:
        return self.repo[rev].hex().decode()

    @functools.lru_cache(maxsize=256)  # noqa: B019  (one Repo per path per process: the cache lives as long)
    def info(self, rev) -> dict:
        ctx = self.repo[rev]
        return {
            "rev": ctx.rev(),
            "node": ctx.hex().decode(),
            "short": ctx.hex().decode()[:12],
            "user": text(ctx.user()),
            "date": [float(ctx.date()[0]), int(ctx.date()[1])],  # (UTC seconds, offset west of UTC), as JSON has it
            "desc": text(ctx.description()),
            "branch": text(ctx.branch()),
            "tags": sorted(text(t) for t in ctx.tags()),
            "bookmarks": sorted(text(b) for b in ctx.bookmarks()),
            "parents": [p.hex().decode() for p in ctx.parents() if p.rev() != -1],
            "files": [text(f) for f in ctx.files()],
        }

    @functools.lru_cache(maxsize=256)  # noqa: B019
    def diff_files(self, rev) -> list[str]:
        """Files the page's diff against the first parent shows (modified, added, removed)."""
        ctx = self.repo[rev]
        st = ctx.p1().status(ctx)
        return sorted(text(f) for f in st.modified + st.added + st.removed)

    def diff_status(self, rev, base=None) -> dict[str, list[str]]:
        """The files the diff against the first parent (or `base`) removes, changes and adds, sorted."""
        ctx = self.repo[rev]
        st = (ctx.p1() if base is None else self.repo[base]).status(ctx)
        return {"removed": sorted(text(f) for f in st.removed), "changed": sorted(text(f) for f in st.modified),
                "added": sorted(text(f) for f in st.added)}

    def diff_counts(self, rev) -> dict[str, int]:
        """How many files the diff against the first parent removes, changes and adds."""
        return {k: len(v) for k, v in self.diff_status(rev).items()}

    @functools.lru_cache(maxsize=256)  # noqa: B019
    def diff_text(self, rev) -> tuple[int, bool]:
        """(bytes of text on both sides of the diff against the first parent, whether any of it is not valid
        UTF-8); binaries (a NUL byte) are left out, as diffs show them as binary."""
        ctx = self.repo[rev]
        p1 = ctx.p1()
        st = p1.status(ctx)
        sides = [(ctx, f) for f in st.modified + st.added] + [(p1, f) for f in st.modified + st.removed]
        total, invalid = 0, False
        for c, f in sides:
            data = c[f].data()
            if b"\0" in data:
                continue
            total += len(data)
            if not invalid:
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError:
                    invalid = True
        return total, invalid

    @functools.lru_cache(maxsize=64)  # noqa: B019
    def manifest(self, rev) -> dict[str, str]:
        """path -> flags ('' regular, 'x' executable, 'l' symlink)."""
        ctx = self.repo[rev]
        mf = ctx.manifest()
        return {text(f): text(mf.flags(f)) for f in mf}

    def data(self, rev, path: str) -> bytes:
        return self.repo[rev][path.encode("utf-8", "surrogateescape")].data()

    def flags(self, rev, path: str) -> str:
        return text(self.repo[rev].flags(path.encode("utf-8", "surrogateescape")))

    def copysource(self, rev, path: str) -> str | None:
        src = self.repo[rev][path.encode("utf-8", "surrogateescape")].copysource()
        return text(src) if src else None

    def file_history(self, rev, path: str) -> list[int]:
        """Changeset revisions of the file's filelog entries up to the file at `rev`, newest first (filelog)."""
        fctx = self.repo[rev][path.encode("utf-8", "surrogateescape")]
        fl = fctx.filelog()
        cl = self.repo.changelog
        return [fl.linkrev(i) for i in range(fctx.filerev(), -1, -1) if fl.linkrev(i) in cl]

    def file_history_all(self, path: str) -> list[int]:
        """Changeset revisions of every filelog entry of the path, newest entry first (Kallithea's file history
        lists the whole filelog, whatever revision the URL names)."""
        fl = self.repo.file(path.encode("utf-8", "surrogateescape"))
        cl = self.repo.changelog
        return [fl.linkrev(i) for i in range(len(fl) - 1, -1, -1) if fl.linkrev(i) in cl]

    def annotate_revs(self, rev, path: str, follow: bool = True) -> list[int]:
        """The changeset of each line; follow=False stops at copies and renames (annotated as added there)."""
        fctx = self.repo[rev][path.encode("utf-8", "surrogateescape")]
        return [line.fctx.rev() for line in fctx.annotate(follow=follow)]

    def diff_lines(self, rev, path: str) -> list[str]:
        """The +/- lines (without the marker) of the file's diff against the first parent."""
        from mercurial import diffutil, patch

        ctx = self.repo[rev]
        m = ctx.match([b"path:" + path.encode("utf-8", "surrogateescape")])
        opts = diffutil.diffallopts(self.repo.ui)
        out = []
        for chunk in patch.diff(self.repo, ctx.p1().node(), ctx.node(), match=m, opts=opts):
            for line in chunk.split(b"\n"):  # a lone "\r" inside a line does not end it (splitlines would)
                if line[:1] in (b"+", b"-") and not line.startswith((b"+++ ", b"--- ")):
                    out.append(text(line[1:].removesuffix(b"\r")))
        return out

    def tags(self) -> dict[str, str]:
        """Tag name -> node, without 'tip'."""
        return {text(n): h.hex() for n, h in self.repo.tagslist() if n != b"tip" and h in self.repo}

    def bookmarks(self) -> dict[str, str]:
        return {text(n): h.hex() for n, h in self.repo._bookmarks.items() if h in self.repo}

    def branches(self) -> dict[str, dict]:
        """Branch name -> {node: branch tip, status: open|inactive|closed} as hgweb reports them."""
        heads = set(self.repo.heads())
        bm = self.repo.branchmap()
        out = {}
        for name in bm:
            tip = self.repo[bm.branchtip(name)]
            status = "closed" if tip.closesbranch() else ("open" if tip.node() in heads else "inactive")
            out[text(name)] = {"node": tip.hex().decode(), "status": status}
        return out

    def find_rev(self, pred, limit: int = 5000) -> int | None:
        """The newest revision (among the newest `limit`) for which pred(ctx) holds."""
        for r in self.revs_desc[:limit]:
            if pred(self.repo[r]):
                return r
        return None

    def metadata_strings(self) -> dict[str, set[str]]:
        """Every string a page may render from this repository, by kind (for the escaping checks)."""
        out = {"description": set(), "author": set(), "file": set(), "branch": set(), "tag": set(),
               "bookmark": set()}
        for r in self.repo.changelog.revs():
            ctx = self.repo[r]
            out["description"].add(text(ctx.description()))
            out["author"].add(text(ctx.user()))
            out["branch"].add(text(ctx.branch()))
            for f in ctx.files():
                out["file"].add(text(f))
                # a page also shows each directory of the path on its own (breadcrumbs, manifest rows)
                parts = text(f).split("/")
                out["file"].update(parts)
        out["tag"] = set(self.tags())
        out["bookmark"] = set(self.bookmarks())
        return out


@functools.lru_cache(maxsize=None)
def open_repo(path: str) -> Repo:
    return Repo(path)
