"""The `hostile` repository (script tags, quotes, javascript: URLs, RTL and combining characters in messages,
authors, labels and file names) seen in a real browser: everything shows as the text it is, and no script runs
(a script would log an error or raise an alert, and either fails the flow)."""

import pytest

from hgharness.suites.functional.subjects import differ
from hgharness.suites.pages.base import norm

pytestmark = [pytest.mark.functional, pytest.mark.nondestructive, pytest.mark.security, pytest.mark.needs("browse")]


def test_hostile_history_shows_as_plain_text(hgweb, subjects):
    repo = subjects.hostile()
    entries = hgweb.repository(repo.name).entries
    shown, expected = [(e.author, e.summary) for e in entries], [(c.person, c.summary) for c in repo.newest(len(entries))]
    assert shown == expected, differ("hostile front page (author, summary)", shown, expected)


def test_hostile_changesets_show_as_plain_text(hgweb, subjects):
    repo = subjects.hostile()
    for change in repo.newest(3):
        page = hgweb.changeset(repo.name, change.node)
        shown, expected = (page.author, page.description), (norm(change.author), norm(change.description))
        assert shown == expected, differ(f"hostile changeset {change.short}", shown, expected)


@pytest.mark.parametrize("kind", ["tags", "branches", "bookmarks"])
def test_hostile_labels_show_as_plain_text(hgweb, subjects, kind):
    repo = subjects.hostile()
    listed = getattr(hgweb, kind)(repo.name).entries
    expected = {norm(name): node for name, node in getattr(repo, kind).items()}
    assert listed == expected, differ(f"hostile {kind}", listed, expected)


def test_hostile_file_names_show_as_plain_text(hgweb, subjects):
    repo = subjects.hostile()
    listed = hgweb.browse(repo.name, repo.tip.short).entries
    expected = [norm(name) for name in repo.listing(repo.tip.node)]
    assert listed == expected, differ("hostile files at tip", listed, expected)
