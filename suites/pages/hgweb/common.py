"""What every hgweb (paper style) page has: the menu on the left, the breadcrumb, the search box."""

from __future__ import annotations

import re
from pathlib import Path

from selenium.webdriver.common.keys import Keys

from hgharness.suites.pages.base import Locator, Page, css, follows, shown, xpath

NODE_IN_HREF = re.compile(r"/(?:rev|shortlog|graph|log)/([0-9a-f]{12,40})(?:[/?#]|$)")


def menu_link(text: str) -> Locator:
    return xpath(f"//div[@class='menu']//a[normalize-space()='{text}']")


def node_of(href: str) -> str | None:
    m = NODE_IN_HREF.search(href or "")
    return m.group(1)[:12] if m else None


class HgwebPage(Page, loaded=css("div.main")):
    _breadcrumb = css("h2.breadcrumb")
    _heading = css("div.main h3")
    _search_box = css("form.search input[name='rev']")
    _archive_links = css("div.menu a[href*='/archive/']")
    _menu = {item: menu_link(item) for item in ("log", "graph", "tags", "bookmarks", "branches", "changeset", "browse")}

    heading = shown(_heading)
    breadcrumb = shown(_breadcrumb)

    # --- the menu ---
    open_log = follows(_menu["log"], "ShortlogPage")
    open_graph = follows(_menu["graph"], "GraphPage")
    open_tags = follows(_menu["tags"], "TagsPage")
    open_bookmarks = follows(_menu["bookmarks"], "BookmarksPage")
    open_branches = follows(_menu["branches"], "BranchesPage")
    open_changeset = follows(_menu["changeset"], "ChangesetPage")
    browse = follows(_menu["browse"], "ManifestPage")

    def is_loaded(self) -> bool:
        # hgweb answers unknown things with an "error" page; that is not the page we asked for
        return super().is_loaded() and not self.is_error_page()

    def is_error_page(self) -> bool:
        return bool(self.browser.js("const h = document.querySelector('div.main h3'); "
                                    "return !!h && h.textContent.trim() === 'error';"))

    @property
    def archive_links(self) -> dict[str, str]:
        """Archive format as the menu names it (zip, gz, bz2) -> URL."""
        return dict(self.links(self._archive_links))

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
        box = self.find(self._search_box)
        box.clear()
        box.send_keys(words)
        return self._navigate(lambda: box.send_keys(Keys.ENTER), "SearchPage")
