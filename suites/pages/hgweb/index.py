"""The hgwebdir index: the list of repositories."""

from __future__ import annotations

from hgharness.suites.pages.base import css, norm
from hgharness.suites.pages.hgweb.common import HgwebPage


class IndexPage(HgwebPage):
    ROUTE = "index"
    LOADED = css("table.bigtable tbody")
    _repo_links = css("table.bigtable tbody tr td:first-child a")

    @property
    def repositories(self) -> list[str]:
        return [name for name, _ in self.links(self._repo_links)]

    def open_repo(self, name: str):
        from hgharness.suites.pages.hgweb.log import RepositoryPage

        for el in self.find_all(self._repo_links):
            if norm(el.text) == norm(name):
                return self._follow(el, RepositoryPage)
        raise AssertionError(f"the index has no link to repository {name!r} (it lists {self.repositories})")
