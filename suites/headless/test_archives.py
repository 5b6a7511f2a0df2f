"""Archives: every member of a tar.gz/zip/tar.bz2 download equals the manifest at that revision, name by name
and byte by byte, with exec bits and symlinks; the only extra member allowed is the site's metadata file,
which must name the archived node."""

from __future__ import annotations

import tarfile
import zipfile

import pytest

from hgharness.suites.headless.archives import read_members, strip_prefix
from hgharness.suites.support.http_checks import fetch
from hgharness.suites.support.table import from_plan

pytestmark = [pytest.mark.headless, pytest.mark.nondestructive, pytest.mark.needs("archives")]

ARCHIVE_LABELS = ("tip", "rename", "merge", "root")  # the first two present per repository are archived


def archive_rows(plan) -> list:
    """The first two of ARCHIVE_LABELS sampled per repository, in every format of the site."""
    rows = []
    for name in plan.checked:
        by_label = {s.label: s for s in plan.samples(name)}
        chosen = [by_label[label] for label in ARCHIVE_LABELS if label in by_label][:2]
        rows += [pytest.param(s, fmt, id=f"{fmt}-{s.id}") for s in chosen for fmt in plan.target.site.ARCHIVE_FORMATS]
    return rows


@from_plan("archive_sample,fmt", archive_rows)
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
    meta = target.site.ARCHIVE_META
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
