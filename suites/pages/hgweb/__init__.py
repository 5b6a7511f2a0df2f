"""Page objects for Mercurial's hgweb (paper style), and the site entry point flows start from.

Importing every page module here is what fills HgwebPage.PAGES, the names navigation methods return."""

from __future__ import annotations

from hgharness.suites.pages.base import Site, entry
from hgharness.suites.pages.hgweb.changeset import ChangesetPage
from hgharness.suites.pages.hgweb.files import AnnotatePage, FilePage, ManifestPage
from hgharness.suites.pages.hgweb.index import IndexPage
from hgharness.suites.pages.hgweb.log import GraphPage, LogPage, RepositoryPage, SearchPage, ShortlogPage
from hgharness.suites.pages.hgweb.refs import BookmarksPage, BranchesPage, TagsPage


class HgwebSite(Site):
    index = entry(IndexPage)
    repository = entry(RepositoryPage, "repo")
    log = entry(LogPage, "repo", revcount=None)
    graph = entry(GraphPage, "repo")
    changeset = entry(ChangesetPage, "repo", "rev")
    browse = entry(ManifestPage, "repo", "rev", path="")
    file = entry(FilePage, "repo", "rev", "path")
    tags = entry(TagsPage, "repo")
    branches = entry(BranchesPage, "repo")
    bookmarks = entry(BookmarksPage, "repo")


__all__ = ["HgwebSite", "IndexPage", "RepositoryPage", "LogPage", "ShortlogPage", "SearchPage", "GraphPage",
           "ChangesetPage", "ManifestPage", "FilePage", "AnnotatePage", "TagsPage", "BranchesPage",
           "BookmarksPage"]
