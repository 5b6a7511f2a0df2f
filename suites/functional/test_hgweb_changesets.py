"""A person reading changesets: who, what, which files, the diff, and the parents of a merge."""

import pytest

from hgharness.suites.functional.subjects import differ
from hgharness.suites.pages.base import norm

pytestmark = [pytest.mark.functional, pytest.mark.nondestructive, pytest.mark.needs("browse")]


def test_changeset_shows_author_description_and_files(hgweb, subjects):
    repo, change = subjects.plain_change()
    page = hgweb.changeset(repo.name, change.node)
    shown = (page.node, page.author, page.description)
    expected = (change.short, change.author, norm(change.description))
    assert shown == expected, differ(f"changeset {change.short} (node, author, description)", shown, expected)
    assert page.files == change.kept, differ(f"files of changeset {change.short}", page.files, change.kept)


def test_changeset_diff_adds_the_lines_of_the_new_file_version(hgweb, subjects):
    repo, f = subjects.file()
    diff = hgweb.changeset(repo.name, f.node).diff
    assert f.path in diff, f"the diff of {f.node[:12]} covers {sorted(diff)}, not {f.path}"
    assert diff[f.path] and set(diff[f.path]) <= set(f.lines), \
        f"the diff of {f.node[:12]} adds lines to {f.path} that the file does not have: " \
        f"{sorted(set(diff[f.path]) - set(f.lines))[:3]}"


def test_diffstat_expands_to_the_changed_files(hgweb, subjects):
    repo, change = subjects.plain_change()
    files = hgweb.changeset(repo.name, change.node).expand_diffstat()
    assert sorted(files) == sorted(change.files), differ(f"diffstat of {change.short}", sorted(files),
                                                         sorted(change.files))


def test_merge_shows_both_parents_and_leads_to_them(hgweb, subjects):
    repo, merge = subjects.merge()
    page = hgweb.changeset(repo.name, merge.node)
    expected = [p[:12] for p in merge.parents]
    assert page.parents == expected, differ(f"parents of merge {merge.short}", page.parents, expected)
    assert page.open_parent(merge.parents[1]).node == expected[1]
