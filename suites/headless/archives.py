"""Reading an archive download: its members (name, kind, bytes) and its top directory."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile


def read_members(content: bytes, fmt: str) -> dict[str, tuple[str, bytes]]:
    """name -> (kind, data) where kind is 'x' (executable), 'l' (symlink; data = link target) or ''."""
    out = {}
    if fmt == "zip":
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            for info in z.infolist():
                if info.is_dir():
                    continue
                mode = info.external_attr >> 16
                kind = "l" if stat.S_ISLNK(mode) else ("x" if mode & 0o111 else "")
                out[info.filename] = (kind, z.read(info))
        return out
    with tarfile.open(fileobj=io.BytesIO(content), mode="r:*") as t:
        for m in t.getmembers():
            if m.isdir():
                continue
            if m.issym():
                out[m.name] = ("l", m.linkname.encode("utf-8", "surrogateescape"))
            elif m.isfile():
                out[m.name] = ("x" if m.mode & 0o111 else "", t.extractfile(m).read())
            else:
                out[m.name] = ("?", b"")
    return out


def strip_prefix(members: dict) -> tuple[str, dict]:
    """Archives put everything under one top directory (hgweb: REPO-REV/); return it and the members without it."""
    tops = {name.split("/", 1)[0] for name in members}
    if len(tops) == 1 and all("/" in n for n in members):
        top = tops.pop()
        return top, {n[len(top) + 1:]: v for n, v in members.items()}
    return "", members
