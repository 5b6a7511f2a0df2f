"""History pages: the repository front page, log/shortlog (paged, and loading more as you scroll), graph, search."""

from __future__ import annotations

import re
from typing import NamedTuple

from selenium.common.exceptions import TimeoutException

from hgharness.suites.pages.base import Cell, css, norm, xpath
from hgharness.suites.pages.hgweb.common import HgwebPage, node_of

SCROLL_JS = "window.scrollTo(0, document.documentElement.scrollHeight);"


class LogEntry(NamedTuple):
    node: str  # 12 hex digits
    summary: str
    author: str
    tags: list[str]


class LogPage(HgwebPage, route="log", loaded=css("table.bigtable > tbody"), busy=css(".scroll-loading")):
    """The log's script loads more entries by itself until they fill the window: loaded means it rests."""
    _rows = css("table.bigtable > tbody > tr")
    _row_href = Cell("td.description > a", "@href")
    _row_summary = Cell("td.description > a")
    _row_author = Cell("td.author")
    _row_tags = Cell("span.tag", every=True)
    _no_more = css(".scroll-loading-info")
    _page_links = css("div.navigate a")

    @property
    def entries(self) -> list[LogEntry]:
        rows = self.cells(self._rows, self._row_href, self._row_summary, self._row_author, self._row_tags)
        return [LogEntry(node_of(href), norm(s), norm(a), [norm(t) for t in tags])
                for href, s, a, tags in rows if href is not None]  # rows without a description link are no entry

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
        return self._follow(min(offsets, key=lambda o: o[0])[1], "ShortlogPage")

    def scroll_to_end(self, max_pages: int = 100):
        """Scroll down until the page says there is nothing more (it loads a page of entries per scroll)."""
        for _ in range(max_pages):
            if self.at_end:
                return self
            count = len(self.find_all(self._rows))
            self.browser.js(SCROLL_JS)
            try:
                self.browser.wait(2).until(lambda d, before=count: self.at_end or (
                    not self.find_all(self.BUSY) and len(self.find_all(self._rows)) > before))
            except TimeoutException:
                raise AssertionError(f"scrolling {self.browser.url} loaded nothing more after {count} rows") from None
        raise AssertionError(f"{self.browser.url} still had more entries after {max_pages} scrolls")

    def open_changeset(self, node: str):
        link = css(f"table.bigtable td.description > a[href*='/rev/{node[:12]}']")
        return self._follow(link, "ChangesetPage", f"changeset {node[:12]}")


class RepositoryPage(LogPage, route="summary"):
    """The repository front page (paper has no summary view: it shows the short log)."""


class ShortlogPage(LogPage, route="shortlog"):
    pass


class SearchPage(LogPage, route="search"):
    _mode = xpath("//div[@class='main']/p[contains(., 'search')]")

    @property
    def mode(self) -> str:
        """hgweb's reading of the query: 'literal keyword search', 'exact revision search' or a revset."""
        found = self.find_all(self._mode)
        text = norm(found[0].text) if found else ""
        m = re.search(r"Assuming (.+?)\.", text)
        return m.group(1) if m else text


class GraphPage(HgwebPage, route="graph", loaded=css("ul#graphnodes"), busy=css(".scroll-loading")):
    _nodes = css("ul#graphnodes > li[data-node]")

    @property
    def nodes(self) -> list[str]:
        return [n[:12] for n in self.texts(self._nodes, "@data-node")]

    @property
    def is_drawn(self) -> bool:
        """The graph's canvas was drawn by the page's script (an empty canvas has no height)."""
        return bool(self.browser.js("const c = document.getElementById('graph'); "
                                    "return !!c && c.width > 0 && c.height > 0;"))

    def open_changeset(self, node: str):
        link = css(f"ul#graphnodes > li[data-node^='{node[:12]}'] span.desc a")
        return self._follow(link, "ChangesetPage", f"changeset {node[:12]}")
