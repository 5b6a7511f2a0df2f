"""Archives: every member of a tar.gz/zip/tar.bz2 download equals the manifest at that revision, name by name
and byte by byte, with exec bits and symlinks; the only extra member allowed is the site's metadata file,
which must name the archived node."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile

import pytest
from hgharness.suites.headless.http_checks import fetch
from hgharness.suites.headless.sitefacts import fact
from hgharness.suites.headless.suite_plugin import parametrize

pytestmark = [pytest.mark.headless, pytest.mark.nondestructive, pytest.mark.needs("archives")]

ARCHIVE_LABELS = ("tip", "rename", "merge", "root")  # the first two present per repository are archived
DEFAULT_FORMATS = ("tar.gz", "zip", "tar.bz2")


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


def pytest_generate_tests(metafunc):
    from hgharness.suites.headless.plan import get_plan

    if "archive_sample" in metafunc.fixturenames:
        plan = get_plan(metafunc.config)
        rows, ids = [], []
        if plan.error is None:
            formats = getattr(plan.target.site, "ARCHIVE_FORMATS", DEFAULT_FORMATS)
            for name in plan.checked:
                by_label = {s.label: s for s in plan.samples(name)}
                chosen = [by_label[label] for label in ARCHIVE_LABELS if label in by_label][:2]
                for s in chosen:
                    for fmt in formats:
                        rows.append((s, fmt))
                        ids.append(f"{fmt}-{s.id}")
        parametrize(metafunc, "archive_sample,fmt", rows, ids)


def test_archive_equals_manifest(target, http, plan, archive_sample, fmt):
    s = archive_sample
    repo = plan.repo(s.repo)
    node = repo.hex(s.rev)
    try:
        r = fetch(http, target, target.site.route("archive", s.repo, rev=node, fmt=fmt))
    except AssertionError as e:
        if ": HTTP 403" in str(e) or ": HTTP 404" in str(e):  # say how to declare the deployment's choice
            head = str(e).splitlines()[0].split(" ('", 1)[0]
            raise AssertionError(f"{head}: if this site has archives switched off on purpose, add \"archives\" "
                                 "to the target's `disable` list") from None
        raise
    try:
        members = read_members(r.content, fmt)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
        pytest.fail(f"{fmt} archive of {s.id} is not a readable {fmt}: {type(e).__name__}: {e}")
    top, members = strip_prefix(members)
    meta = fact(target, "archive_meta")
    if meta and meta in members:
        kind, data = members.pop(meta)
        assert node.encode() in data, f"{fmt} archive of {s.id}: {meta} does not name node {node[:12]}"
    manifest = repo.manifest(s.rev)
    missing = sorted(set(manifest) - set(members))
    extra = sorted(set(members) - set(manifest))
    assert not missing and not extra, (f"{fmt} archive of {s.id} (under {top or 'no top directory'}/): "
                                       f"missing {missing[:5]}, unexpected {extra[:5]}")
    wrong = []
    for path, flags in sorted(manifest.items()):
        kind, data = members[path]
        want = repo.data(s.rev, path)
        if kind != flags:
            wrong.append(f"{path}: {'symlink' if kind == 'l' else 'exec' if kind == 'x' else 'plain'}, "
                         f"expected {'symlink' if flags == 'l' else 'exec' if flags == 'x' else 'plain'}")
        elif data != want:
            wrong.append(f"{path}: {len(data)} bytes differ from the fixture's {len(want)}")
    assert not wrong, f"{fmt} archive of {s.id}: {len(wrong)} member(s) wrong: {'; '.join(wrong[:5])}"
