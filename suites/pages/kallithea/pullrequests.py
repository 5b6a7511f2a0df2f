"""Opening a pull request and reviewing it."""

from __future__ import annotations

from hgharness.suites.pages.base import css, norm
from hgharness.suites.pages.kallithea.history import ChangesetPage


class NewPullRequestPage(ChangesetPage):
    ROUTE = "pull_request_new"
    LOADED = css("form#pull_request_form input[type='submit']")
    _title = css("input#pullrequest_title")
    _description = css("textarea#pullrequest_desc")
    _submit = css("form#pull_request_form input[type='submit']")

    def create(self, title: str, description: str = "") -> "PullRequestPage":
        # Kallithea's script rebuilds parts of this form right after load (revision selectors, the default
        # title): a field found too early can vanish under us, so fill until the form holds what we typed.
        def filled(driver):
            from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

            try:
                field = driver.find_element(*self._title)
                if field.get_attribute("value") != title:
                    field.clear()
                    field.send_keys(title)
                if description:
                    area = driver.find_element(*self._description)
                    if area.get_attribute("value") != description:
                        area.clear()
                        area.send_keys(description)
                return driver.find_element(*self._title).get_attribute("value") == title
            except StaleElementReferenceException:
                return False
            except WebDriverException as e:
                if "does not belong to the document" in str(e):
                    return False
                raise

        self.browser.wait().until(filled)
        self.browser.wait().until(lambda d: d.find_element(*self._submit).is_enabled())
        return self._follow(self._submit, PullRequestPage)


class PullRequestPage(ChangesetPage):
    ROUTE = "pull_request"
    LOADED = css("#comments-general-comments")
    _title = css("div.pr-details-title h3")
    _changesets = css("table#changesets a.changeset_hash")
    _status = css("span.changeset-status-lbl")

    @property
    def title(self) -> str:
        return self.text(self._title).removeprefix("Title:").strip()

    @property
    def changesets(self) -> list[str]:
        return [norm(t) for t in self.texts(self._changesets)]

    @property
    def review_status(self) -> str:
        found = self.texts(self._status)
        return norm(found[0]) if found else ""
