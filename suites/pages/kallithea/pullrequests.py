"""Opening a pull request and reviewing it."""

from __future__ import annotations

from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

from hgharness.suites.pages.base import css, listed
from hgharness.suites.pages.kallithea.history import GENERAL_COMMENTS, ChangesetPage


class NewPullRequestPage(ChangesetPage, route="pull_request_new",
                         loaded=css("form#pull_request_form input[type='submit']")):
    _title = css("input#pullrequest_title")
    _description = css("textarea#pullrequest_desc")
    _submit = css("form#pull_request_form input[type='submit']")

    def create(self, title: str, description: str = "") -> PullRequestPage:
        # Kallithea's script rebuilds parts of this form right after load (revision selectors, the default
        # title): a field found too early can vanish under us, so fill until the form holds what we typed.
        def filled(driver):
            try:
                self._fill(driver, self._title, title)
                if description:
                    self._fill(driver, self._description, description)
                return driver.find_element(*self._title).get_attribute("value") == title
            except StaleElementReferenceException:
                return False
            except WebDriverException as e:
                if "does not belong to the document" in str(e):
                    return False
                raise

        self.browser.wait().until(filled)
        self.browser.wait().until(lambda d: d.find_element(*self._submit).is_enabled())
        return self._follow(self._submit, "PullRequestPage")

    @staticmethod
    def _fill(driver, locator, value: str) -> None:
        field = driver.find_element(*locator)
        if field.get_attribute("value") != value:
            field.clear()
            field.send_keys(value)


class PullRequestPage(ChangesetPage, route="pull_request", loaded=css(GENERAL_COMMENTS)):
    _title = css("div.pr-details-title h3")
    _changesets = css("table#changesets a.changeset_hash")
    _status = css("span.changeset-status-lbl")

    changesets = listed(_changesets)

    @property
    def title(self) -> str:
        return self.text(self._title).removeprefix("Title:").strip()

    @property
    def review_status(self) -> str:
        found = self.all_text(self._status)
        return found[0] if found else ""
