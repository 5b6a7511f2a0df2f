"""History pages: the repository front page, log/shortlog (paged, and loading more as you scroll), graph, search."""

from __future__ import annotations

import re
from typing import NamedTuple

from hgharness.suites.pages.base import Locator, css, norm
from hgharness.suites.pages.hgweb.common import HgwebPage, node_of
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By

ENTRIES_JS = """
return Array.from(document.querySelectorAll(arguments[0]), tr => {
  const a = tr.querySelector('td.description > a');
  if (!a) return null;
  const au = tr.querySelector('td.author');
  return [a.getAttribute('href'), a.textContent, au ? au.textContent : '',
          Array.from(tr.querySelectorAll('span.tag'), s => s.textContent)];
}).filter(x => x);
"""
SCROLL_JS = "window.scrollTo(0, document.documentElement.scrollHeight);"


class LogEntry(NamedTuple):
    node: str  # 12 hex digits
    summary: str
    author: str
    tags: list[str]


class LogPage(HgwebPage):
    ROUTE = "log"
    LOADED = css("table.bigtable > tbody")
    _rows = css("table.bigtable > tbody > tr")
    _loading = css(".scroll-loading")
    _no_more = css(".scroll-loading-info")
    _page_links = css("div.navigate a")

    def is_loaded(self) -> bool:
        # the page keeps loading entries by itself until it fills the window: wait until it rests
        return super().is_loaded() and not self.find_all(self._loading)

    @property
    def entries(self) -> list[LogEntry]:
        return [LogEntry(node_of(href), norm(s), norm(a), [norm(t) for t in tags])
                for href, s, a, tags in self.browser.js(ENTRIES_JS, self._rows.value)]

    @property
    def nodes(self) -> list[str]:
        return [e.node for e in self.entries]

    @property
    def at_end(self) -> bool:
        """The page says there are no more entries to load."""
        return bool(self.find_all(self._no_more))

    def older(self):
        """Follow the paging link to the next older page of the same size."""
        offsets = []
        for el in self.find_all(self._page_links):
            m = re.fullmatch(r"-(\d+)", el.text.strip())
            if m:
                offsets.append((int(m.group(1)), el))
        assert offsets, f"{self.name} at {self.browser.url} has no link to older changesets"
        return self._follow(min(offsets, key=lambda o: o[0])[1], ShortlogPage)

    def scroll_to_end(self, max_pages: int = 100):
        """Scroll down until the page says there is nothing more (it loads a page of entries per scroll)."""
        for _ in range(max_pages):
            if self.at_end:
                return self
            count = len(self.find_all(self._rows))
            self.browser.js(SCROLL_JS)
            try:
                self.browser.wait(2).until(lambda d, before=count: self.at_end or (
                    not self.find_all(self._loading) and len(self.find_all(self._rows)) > before))
            except TimeoutException:
                raise AssertionError(f"scrolling {self.browser.url} loaded nothing more after {count} rows") from None
        raise AssertionError(f"{self.browser.url} still had more entries after {max_pages} scrolls")

    def open_changeset(self, node: str):
        from hgharness.suites.pages.hgweb.changeset import ChangesetPage

        link = Locator(By.CSS_SELECTOR, f"table.bigtable td.description > a[href*='/rev/{node[:12]}']")
        assert self.find_all(link), f"{self.name} at {self.browser.url} does not list changeset {node[:12]}"
        return self._follow(link, ChangesetPage)


class RepositoryPage(LogPage):
    """The repository front page (paper has no summary view: it shows the short log)."""
    ROUTE = "summary"


class ShortlogPage(LogPage):
    ROUTE = "shortlog"


class SearchPage(LogPage):
    ROUTE = "search"
    _mode = Locator(By.XPATH, "//div[@class='main']/p[contains(., 'search')]")

    @property
    def mode(self) -> str:
        """hgweb's reading of the query: 'literal keyword search', 'exact revision search' or a revset."""
        found = self.find_all(self._mode)
        text = norm(found[0].text) if found else ""
        m = re.search(r"Assuming (.+?)\.", text)
        return m.group(1) if m else text


class GraphPage(HgwebPage):
    ROUTE = "graph"
    LOADED = css("ul#graphnodes")
    _nodes = css("ul#graphnodes > li[data-node]")
    _loading = css(".scroll-loading")

    def is_loaded(self) -> bool:
        return super().is_loaded() and not self.find_all(self._loading)

    @property
    def nodes(self) -> list[str]:
        return [n[:12] for n in self.browser.js("return Array.from(document.querySelectorAll(arguments[0]), "
                                                "e => e.getAttribute('data-node'))", self._nodes.value)]

    @property
    def is_drawn(self) -> bool:
        """The graph's canvas was drawn by the page's script (an empty canvas has no height)."""
        return bool(self.browser.js("const c = document.getElementById('graph'); "
                                    "return !!c && c.width > 0 && c.height > 0;"))

    def open_changeset(self, node: str):
        from hgharness.suites.pages.hgweb.changeset import ChangesetPage

        link = Locator(By.CSS_SELECTOR, f"ul#graphnodes > li[data-node^='{node[:12]}'] span.desc a")
        assert self.find_all(link), f"the graph at {self.browser.url} does not show changeset {node[:12]}"
        return self._follow(link, ChangesetPage)
