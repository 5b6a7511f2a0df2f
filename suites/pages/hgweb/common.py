"""What every hgweb (paper style) page has: the menu on the left, the breadcrumb, the search box."""

from __future__ import annotations

import re
from pathlib import Path

from hgharness.suites.pages.base import Locator, Page, css
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

NODE_IN_HREF = re.compile(r"/(?:rev|shortlog|graph|log)/([0-9a-f]{12,40})(?:[/?#]|$)")


def menu_link(text: str) -> Locator:
    return Locator(By.XPATH, f"//div[@class='menu']//a[normalize-space()='{text}']")


def node_of(href: str) -> str | None:
    m = NODE_IN_HREF.search(href or "")
    return m.group(1)[:12] if m else None


class HgwebPage(Page):
    _breadcrumb = css("h2.breadcrumb")
    _heading = css("div.main h3")
    _search_box = css("form.search input[name='rev']")
    _archive_links = css("div.menu a[href*='/archive/']")
    _menu_log = menu_link("log")
    _menu_graph = menu_link("graph")
    _menu_tags = menu_link("tags")
    _menu_bookmarks = menu_link("bookmarks")
    _menu_branches = menu_link("branches")
    _menu_changeset = menu_link("changeset")
    _menu_browse = menu_link("browse")

    LOADED = css("div.main")

    def is_loaded(self) -> bool:
        # hgweb answers unknown things with an "error" page; that is not the page we asked for
        return super().is_loaded() and not self.is_error_page()

    def is_error_page(self) -> bool:
        return bool(self.browser.js("const h = document.querySelector('div.main h3'); "
                                    "return !!h && h.textContent.trim() === 'error';"))

    @property
    def heading(self) -> str:
        return self.text(self._heading)

    @property
    def breadcrumb(self) -> str:
        return self.text(self._breadcrumb)

    @property
    def archive_links(self) -> dict[str, str]:
        """Archive format as the menu names it (zip, gz, bz2) -> URL."""
        return dict(self.links(self._archive_links))

    # --- the menu ---
    def open_log(self):
        from hgharness.suites.pages.hgweb.log import ShortlogPage

        return self._follow(self._menu_log, ShortlogPage)

    def open_graph(self):
        from hgharness.suites.pages.hgweb.log import GraphPage

        return self._follow(self._menu_graph, GraphPage)

    def open_tags(self):
        from hgharness.suites.pages.hgweb.refs import TagsPage

        return self._follow(self._menu_tags, TagsPage)

    def open_bookmarks(self):
        from hgharness.suites.pages.hgweb.refs import BookmarksPage

        return self._follow(self._menu_bookmarks, BookmarksPage)

    def open_branches(self):
        from hgharness.suites.pages.hgweb.refs import BranchesPage

        return self._follow(self._menu_branches, BranchesPage)

    def open_changeset(self):
        from hgharness.suites.pages.hgweb.changeset import ChangesetPage

        return self._follow(self._menu_changeset, ChangesetPage)

    def browse(self):
        from hgharness.suites.pages.hgweb.files import ManifestPage

        return self._follow(self._menu_browse, ManifestPage)

    def download_archive(self, fmt: str) -> Path:
        """Click the menu's archive link (zip, gz, bz2); returns the file once the browser has saved it."""
        return self._download(menu_link(fmt), f"{fmt} archive")

    def _download(self, locator: Locator, what: str) -> Path:
        downloads = self.browser.downloads
        before = set(downloads.iterdir())
        link = self.find(locator)
        url = link.get_attribute("href")
        link.click()

        def finished(_):
            new = [p for p in downloads.iterdir() if p not in before]
            done = [p for p in new if not p.name.startswith(".") and not p.name.endswith(".crdownload")]
            if done and len(done) == len(new):  # Chromium writes to a hidden or .crdownload file, then renames
                return done[0]
            self.browser.check_console(failed_request=url)  # e.g. HTTP 500: fail now, not at the timeout
            return None

        return self.browser.wait().until(finished, f"the {what} from {self.browser.url} was never saved")

    def search(self, words: str):
        """Type into the search box and press Enter; returns the results page."""
        from hgharness.suites.pages.hgweb.log import SearchPage

        box = self.find(self._search_box)
        box.clear()
        box.send_keys(words)
        timing = self.browser.navigate(lambda: box.send_keys(Keys.ENTER), SearchPage.ROUTE)
        return SearchPage(self.browser, self.target)._arrived(timing)
