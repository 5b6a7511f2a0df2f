"""Page objects for Kallithea 0.7.0, and the site entry point flows start from.

Importing every page module here is what fills KallitheaPage.PAGES, the names navigation methods return."""

from __future__ import annotations

from hgharness.suites.pages.base import Site, entry
from hgharness.suites.pages.kallithea.account import LoginPage, MyAccountPage
from hgharness.suites.pages.kallithea.common import KallitheaPage
from hgharness.suites.pages.kallithea.files import FilePage, FilesPage
from hgharness.suites.pages.kallithea.history import ChangelogPage, ChangesetPage
from hgharness.suites.pages.kallithea.pullrequests import NewPullRequestPage, PullRequestPage
from hgharness.suites.pages.kallithea.repos import CreateRepoPage, ForkPage, IndexPage, SummaryPage


class KallitheaSite(Site):
    login_page = entry(LoginPage)
    index = entry(IndexPage)
    summary = entry(SummaryPage, "repo")
    changelog = entry(ChangelogPage, "repo")
    changeset = entry(ChangesetPage, "repo", "rev")
    files = entry(FilesPage, "repo", rev="tip", path="")
    create_repo_page = entry(CreateRepoPage)
    fork_page = entry(ForkPage, "repo")
    new_pull_request_page = entry(NewPullRequestPage, "repo")

    def forget_session(self) -> None:
        """Start logged out: the browser is shared by the tests of a worker."""
        self.browser.driver.delete_all_cookies()

    def log_in(self, username: str, password) -> KallitheaPage:
        return self.login_page().login(username, password)

    def log_out(self, page: KallitheaPage) -> IndexPage:
        return page.log_out()

    def pull_request(self, repo: str, pr_id: int) -> PullRequestPage:
        return self.open(PullRequestPage, repo, rev=str(pr_id))


__all__ = ["KallitheaSite", "KallitheaPage", "LoginPage", "MyAccountPage", "IndexPage", "SummaryPage",
           "CreateRepoPage", "ForkPage", "ChangelogPage", "ChangesetPage", "FilesPage", "FilePage",
           "NewPullRequestPage", "PullRequestPage"]
