"""Page objects for Kallithea 0.7.0, and the site entry point flows start from."""

from __future__ import annotations

from hgharness.suites.pages.kallithea.account import LoginPage, MyAccountPage, log_out
from hgharness.suites.pages.kallithea.common import KallitheaPage
from hgharness.suites.pages.kallithea.files import FilePage, FilesPage
from hgharness.suites.pages.kallithea.history import ChangelogPage, ChangesetPage
from hgharness.suites.pages.kallithea.pullrequests import NewPullRequestPage, PullRequestPage
from hgharness.suites.pages.kallithea.repos import CreateRepoPage, ForkPage, IndexPage, SummaryPage


class KallitheaSite:
    """Where a flow starts: each method types a URL (built by the site adapter) and returns the loaded page."""

    def __init__(self, browser, target):
        self.browser, self.target = browser, target

    def _open(self, page_cls, repo=None, rev=None, path=None, **query):
        return page_cls.open(self.browser, self.target, repo, rev=rev, path=path, **query)

    def forget_session(self) -> None:
        """Start logged out: the browser is shared by the tests of a worker."""
        self.browser.driver.delete_all_cookies()

    def login_page(self) -> LoginPage:
        return self._open(LoginPage)

    def log_in(self, username: str, password) -> KallitheaPage:
        return self.login_page().login(username, password)

    def log_out(self, page: KallitheaPage) -> IndexPage:
        return log_out(page)

    def index(self) -> IndexPage:
        return self._open(IndexPage)

    def summary(self, repo: str) -> SummaryPage:
        return self._open(SummaryPage, repo)

    def changelog(self, repo: str) -> ChangelogPage:
        return self._open(ChangelogPage, repo)

    def changeset(self, repo: str, node: str) -> ChangesetPage:
        return self._open(ChangesetPage, repo, rev=node)

    def files(self, repo: str, rev: str = "tip", path: str = "") -> FilesPage:
        return self._open(FilesPage, repo, rev=rev, path=path)

    def create_repo_page(self) -> CreateRepoPage:
        return self._open(CreateRepoPage)

    def fork_page(self, repo: str) -> ForkPage:
        return self._open(ForkPage, repo)

    def new_pull_request_page(self, repo: str) -> NewPullRequestPage:
        return self._open(NewPullRequestPage, repo)

    def pull_request(self, repo: str, pr_id: int) -> PullRequestPage:
        return self._open(PullRequestPage, repo, rev=str(pr_id))


__all__ = ["KallitheaSite", "LoginPage", "MyAccountPage", "IndexPage", "SummaryPage", "CreateRepoPage", "ForkPage",
           "ChangelogPage", "ChangesetPage", "FilesPage", "FilePage", "NewPullRequestPage", "PullRequestPage"]
