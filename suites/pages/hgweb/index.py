"""The hgwebdir index: the list of repositories."""

from __future__ import annotations

from hgharness.suites.pages.base import css, follows_named, listed
from hgharness.suites.pages.hgweb.common import HgwebPage


class IndexPage(HgwebPage, route="index", loaded=css("table.bigtable tbody")):
    _repo_links = css("table.bigtable tbody tr td:first-child a")

    repositories = listed(_repo_links, "innerText")
    open_repo = follows_named(_repo_links, "RepositoryPage")
