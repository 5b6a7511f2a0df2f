"""A person looking at branches, tags and bookmarks, and following one to its changeset."""

import pytest

from hgharness.suites.functional.subjects import differ

pytestmark = [pytest.mark.functional, pytest.mark.nondestructive, pytest.mark.needs("browse")]


def test_branches_page_lists_each_branch_at_its_tip(hgweb, subjects):
    repo = subjects.repo("a named branch besides default", lambda r: len(r.branches) > 1)
    branches = hgweb.repository(repo.name).open_branches()
    assert branches.entries == repo.branches, differ(f"{repo.name} branches", branches.entries, repo.branches)
    name = sorted(b for b in repo.branches if b != "default")[0]
    assert branches.open_branch(name).nodes[0] == repo.branches[name]


def test_tags_page_lists_tags_and_leads_to_the_tagged_changeset(hgweb, subjects):
    repo = subjects.repo("a tag", lambda r: len(r.tags) > 1)
    tags = hgweb.repository(repo.name).open_tags()
    assert tags.entries == repo.tags, differ(f"{repo.name} tags", tags.entries, repo.tags)
    name = sorted(t for t in repo.tags if t != "tip")[0]
    assert tags.open_tag(name).node == repo.tags[name]


@pytest.mark.needs("bookmarks")
def test_bookmarks_page_lists_bookmarks_and_leads_to_them(hgweb, subjects):
    repo = subjects.repo("a bookmark", lambda r: r.bookmarks)
    bookmarks = hgweb.repository(repo.name).open_bookmarks()
    assert bookmarks.entries == repo.bookmarks, differ(f"{repo.name} bookmarks", bookmarks.entries, repo.bookmarks)
    name = sorted(repo.bookmarks)[0]
    assert bookmarks.open_bookmark(name).node == repo.bookmarks[name]
