"""A person browsing files: the directory listing, a file at a revision, its annotation, raw and archive links."""

import tarfile
import zipfile

import pytest

from hgharness.suites.functional.subjects import differ

pytestmark = [pytest.mark.functional, pytest.mark.nondestructive, pytest.mark.needs("browse")]


def test_file_browser_lists_the_directory_at_a_revision(hgweb, subjects):
    repo, f = subjects.file()
    root = hgweb.browse(repo.name, f.node[:12])
    expected = repo.listing(f.node)
    assert root.entries == expected, differ(f"{repo.name} files at {f.node[:12]}", root.entries, expected)
    if f.directory:
        top = f.directory.split("/")[0]
        shown, expected = root.open_dir(top).entries, repo.listing(f.node, top)
        assert shown == expected, differ(f"{repo.name} directory {top}/ at {f.node[:12]}", shown, expected)


def test_walk_down_to_a_file_shows_its_content(hgweb, subjects):
    repo, f = subjects.file()
    page = hgweb.browse(repo.name, f.node[:12]).open_path(f.path)
    assert (page.path, page.node) == (f.path, f.node[:12])
    assert page.lines == f.lines, differ(f"{f.path} at {f.node[:12]}", page.lines, f.lines)


@pytest.mark.needs("annotate")
def test_annotate_names_the_changeset_of_every_line(hgweb, subjects):
    repo, f = subjects.file()
    annotate = hgweb.file(repo.name, f.node, f.path).open_annotate()
    assert annotate.lines == f.annotate, differ(f"annotate {f.path} at {f.node[:12]}", annotate.lines, f.annotate)


def test_raw_link_downloads_the_exact_bytes(hgweb, subjects, downloads):
    repo, f = subjects.file()
    path = hgweb.file(repo.name, f.node, f.path).download_raw()
    assert path.read_bytes() == f.data, f"raw {f.path} at {f.node[:12]}: {path.stat().st_size} bytes, " \
                                        f"the repository has {len(f.data)} (or other bytes)"


@pytest.mark.needs("archives")
def test_zip_archive_download_holds_the_revision(hgweb, subjects, downloads):
    repo, f = subjects.file()
    path = hgweb.changeset(repo.name, f.node).download_archive("zip")
    with zipfile.ZipFile(path) as z:
        members = {n.split("/", 1)[1]: n for n in z.namelist() if "/" in n and not n.endswith("/")}
        assert f.path in members, f"the zip of {f.node[:12]} lacks {f.path}"
        assert z.read(members[f.path]) == f.data, f"{f.path} in the zip of {f.node[:12]} differs"


@pytest.mark.needs("archives")
def test_gz_archive_download_holds_the_revision(hgweb, subjects, downloads):
    repo, f = subjects.file()
    path = hgweb.repository(repo.name).download_archive("gz")
    with tarfile.open(path) as t:
        names = {m.name.split("/", 1)[1] for m in t.getmembers() if (m.isfile() or m.issym()) and "/" in m.name}
    missing = set(repo.manifest(repo.tip.node)) - names
    assert not missing, f"the tar.gz of {repo.name} tip lacks {sorted(missing)[:5]}"
