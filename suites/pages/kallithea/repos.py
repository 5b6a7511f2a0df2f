"""The repository list, a repository's summary, creating and forking repositories."""

from __future__ import annotations

from hgharness.suites.pages.base import Locator, css, norm
from hgharness.suites.pages.kallithea.common import KallitheaPage
from selenium.webdriver.common.by import By


class IndexPage(KallitheaPage):
    ROUTE = "index"
    LOADED = css("#repos_list_wrap tbody tr")  # the table is filled by script
    _repo_links = css("#repos_list_wrap div.dt_repo a")

    @property
    def repositories(self) -> list[str]:
        return [name for name, _ in self.links(self._repo_links)]

    def open_repo(self, name: str) -> "SummaryPage":
        for el in self.find_all(self._repo_links):
            if norm(el.text) == name:
                return self._follow(el, SummaryPage)
        raise AssertionError(f"the index has no link to {name!r} (it lists {self.repositories})")


class RepoPage(KallitheaPage):
    """Pages of one repository share its menu: Summary, Changelog, Files, Pull Requests, Options."""
    _menu = {kind: css(f"li[data-context='{kind}'] > a") for kind in ("summary", "changelog", "files")}

    def open_changelog(self):
        from hgharness.suites.pages.kallithea.history import ChangelogPage

        return self._follow(self._menu["changelog"], ChangelogPage)

    def open_files(self):
        from hgharness.suites.pages.kallithea.files import FilesPage

        return self._follow(self._menu["files"], FilesPage)


class SummaryPage(RepoPage):
    ROUTE = "summary"
    LOADED = css("#summary-panel-body")
    _clone_url = css("#clone_by_name input")
    _description = css("#summary .formatted-fixed")

    @property
    def clone_url(self) -> str:
        return self.find(self._clone_url).get_attribute("value")

    @property
    def description(self) -> str:
        return self.text(self._description)


class CreateRepoPage(KallitheaPage):
    ROUTE = "repo_create"
    LOADED = css("form[action$='/_admin/repos'] input#repo_name")
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
        return SummaryPage(self.browser, self.target).wait_loaded()


class ForkPage(CreateRepoPage):
    ROUTE = "fork"
    LOADED = css("form input#fork-submit")
    _name = css("input#repo_name")
    _add = css("input#fork-submit")

    def fork(self, name: str) -> SummaryPage:
        field = self.find(self._name)
        field.clear()
        field.send_keys(name)
        return self._submit_and_wait_created(self._add, name)


def menu_item(text: str) -> Locator:
    return Locator(By.XPATH, f"//a[normalize-space()='{text}']")
