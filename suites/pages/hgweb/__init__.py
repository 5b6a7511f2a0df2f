"""Page objects for Mercurial's hgweb (paper style), and the site entry point flows start from."""

from __future__ import annotations

from hgharness.suites.pages.hgweb.changeset import ChangesetPage
from hgharness.suites.pages.hgweb.files import AnnotatePage, FilePage, ManifestPage
from hgharness.suites.pages.hgweb.index import IndexPage
from hgharness.suites.pages.hgweb.log import GraphPage, LogPage, RepositoryPage, SearchPage, ShortlogPage
from hgharness.suites.pages.hgweb.refs import BookmarksPage, BranchesPage, TagsPage


class HgwebSite:
    """Where a flow starts: each method types a URL (built by the site adapter) and returns the loaded page."""

    def __init__(self, browser, target):
        self.browser, self.target = browser, target

    def _open(self, page_cls, repo=None, rev=None, path=None, **query):
        return page_cls.open(self.browser, self.target, repo, rev=rev, path=path, **query)

    def index(self) -> IndexPage:
        return self._open(IndexPage)

    def repository(self, repo: str) -> RepositoryPage:
        return self._open(RepositoryPage, repo)

    def log(self, repo: str, revcount: int | None = None) -> LogPage:
        return self._open(LogPage, repo, revcount=revcount)

    def graph(self, repo: str) -> GraphPage:
        return self._open(GraphPage, repo)

    def changeset(self, repo: str, node: str) -> ChangesetPage:
        return self._open(ChangesetPage, repo, rev=node)

    def browse(self, repo: str, rev: str, path: str = "") -> ManifestPage:
        return self._open(ManifestPage, repo, rev=rev, path=path)

    def file(self, repo: str, rev: str, path: str) -> FilePage:
        return self._open(FilePage, repo, rev=rev, path=path)

    def tags(self, repo: str) -> TagsPage:
        return self._open(TagsPage, repo)

    def branches(self, repo: str) -> BranchesPage:
        return self._open(BranchesPage, repo)

    def bookmarks(self, repo: str) -> BookmarksPage:
        return self._open(BookmarksPage, repo)


__all__ = ["HgwebSite", "IndexPage", "RepositoryPage", "LogPage", "ShortlogPage", "SearchPage", "GraphPage",
           "ChangesetPage", "ManifestPage", "FilePage", "AnnotatePage", "TagsPage", "BranchesPage",
           "BookmarksPage"]
