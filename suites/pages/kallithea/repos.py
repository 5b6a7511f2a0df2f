"""The repository list, a repository's summary, creating and forking repositories."""

from __future__ import annotations

from hgharness.suites.pages.base import css, follows, follows_named, listed, shown
from hgharness.suites.pages.kallithea.common import KallitheaPage


class IndexPage(KallitheaPage, route="index", loaded=css("#repos_list_wrap tbody tr")):  # filled in by script
    _repo_links = css("#repos_list_wrap div.dt_repo a")

    repositories = listed(_repo_links, "innerText")
    open_repo = follows_named(_repo_links, "SummaryPage")


class RepoPage(KallitheaPage):
    """Pages of one repository share its menu: Summary, Changelog, Files, Pull Requests, Options."""
    _menu = {kind: css(f"li[data-context='{kind}'] > a") for kind in ("summary", "changelog", "files")}

    open_changelog = follows(_menu["changelog"], "ChangelogPage")
    open_files = follows(_menu["files"], "FilesPage")


class SummaryPage(RepoPage, route="summary", loaded=css("#summary-panel-body")):
    _clone_url = css("#clone_by_name input")
    _description = css("#summary .formatted-fixed")

    description = shown(_description)

    @property
    def clone_url(self) -> str:
        return self.find(self._clone_url).get_attribute("value")


class CreateRepoPage(KallitheaPage, route="repo_create",
                     loaded=css("form[action$='/_admin/repos'] input#repo_name")):
    _name = css("input#repo_name")
    _description = css("textarea#repo_description")
    _private = css("input#repo_private")
    _add = css("input#add")

    def create(self, name: str, description: str = "", private: bool = False) -> SummaryPage:
        self.find(self._name).send_keys(name)
        if description:
            self.find(self._description).send_keys(description)
        if private != self.find(self._private).is_selected():
            self.find(self._private).click()
        return self._submit_and_wait_created(self._add, name)

    def _submit_and_wait_created(self, button, name: str) -> SummaryPage:
        # Kallithea shows a "creating" page that polls, then goes to the new repository's summary
        self.browser.navigate(self.find(button).click, "repo_create")
        self.browser.wait(4).until(lambda d: d.current_url.rstrip("/").endswith("/" + name),
                                   f"the new repository {name} never showed")
        return self._next("SummaryPage")


class ForkPage(CreateRepoPage, route="fork", loaded=css("form input#fork-submit")):
    _add = css("input#fork-submit")

    def fork(self, name: str) -> SummaryPage:
        field = self.find(self._name)
        field.clear()
        field.send_keys(name)
        return self._submit_and_wait_created(self._add, name)
