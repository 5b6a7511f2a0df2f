"""A person browsing a repository's history: the index, the front page, the log (paged and scrolled), the graph
and the keyword search. What the pages show is compared with the fixture repository itself."""

import pytest

from hgharness.suites.functional.subjects import differ

pytestmark = [pytest.mark.functional, pytest.mark.nondestructive, pytest.mark.needs("browse")]


@pytest.mark.smoke
def test_index_lists_every_repository(hgweb, subjects):
    listed = hgweb.index().repositories
    missing = sorted(set(subjects.all) - set(listed))
    assert not missing, f"the index does not list {missing}"


@pytest.mark.smoke
def test_walk_from_index_to_the_newest_changeset(hgweb, subjects):
    repo = subjects.main
    changeset = hgweb.index().open_repo(repo.name).open_changeset(repo.tip.node)
    shown, expected = (changeset.node, changeset.author), (repo.tip.short, repo.tip.author)
    assert shown == expected, differ(f"{repo.name} tip changeset", shown, expected)


def test_front_page_lists_newest_changesets_first(hgweb, subjects):
    repo = subjects.main
    entries = hgweb.repository(repo.name).entries
    assert entries and [e.node for e in entries] == repo.shorts[:len(entries)], \
        differ(f"{repo.name} front page", [e.node for e in entries], repo.shorts[:len(entries)])
    shown, expected = [(e.author, e.summary) for e in entries[:5]], [(c.person, c.summary) for c in repo.newest(5)]
    assert shown == expected, differ(f"{repo.name} front page (author, summary)", shown, expected)


def test_log_pages_back_to_older_changesets(hgweb, subjects):
    repo = subjects.repo("more than 6 changesets", lambda r: len(r) > 6)
    log = hgweb.log(repo.name, revcount=3)
    assert log.nodes == repo.shorts[:len(log.nodes)], differ(f"{repo.name} log", log.nodes, repo.shorts)
    older = log.older().nodes[:3]
    assert older == repo.shorts[3:6], differ(f"{repo.name} log, older page", older, repo.shorts[3:6])


def test_log_loads_the_whole_history_as_you_scroll(hgweb, subjects):
    repo = subjects.smallest("2 to 1000 changesets", lambda r: 1 < len(r) <= 1000)
    log = hgweb.log(repo.name, revcount=max(5, len(repo) // 6)).scroll_to_end()  # about six loads
    assert log.nodes == repo.shorts, differ(f"{repo.name} log scrolled to the end", log.nodes, repo.shorts)


@pytest.mark.needs("graph")
def test_graph_draws_the_history(hgweb, subjects):
    repo = subjects.main
    graph = hgweb.repository(repo.name).open_graph()
    assert graph.is_drawn, f"the graph canvas of {repo.name} was not drawn"
    assert graph.nodes and graph.nodes == repo.shorts[:len(graph.nodes)], \
        differ(f"{repo.name} graph", graph.nodes, repo.shorts)


@pytest.mark.needs("search")
def test_keyword_search_finds_the_changesets_that_mention_it(hgweb, subjects):
    repo = subjects.smallest("a searchable word in its descriptions", lambda r: len(r) > 1 and r.keyword)
    word, expected = repo.keyword
    results = hgweb.repository(repo.name).search(word)
    shown = (results.mode, results.nodes)
    assert shown == ("literal keyword search", expected[:10]), differ(f"search for {word!r}", shown, expected[:10])
