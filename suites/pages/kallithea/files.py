"""Browsing files: a directory listing and one file."""

from __future__ import annotations

from hgharness.suites.pages.base import css
from hgharness.suites.pages.kallithea.repos import RepoPage


class FilesPage(RepoPage, route="manifest", loaded=css("table.code-browser")):
    _entries = css("table.code-browser a.browser-file span, table.code-browser a.browser-dir span")
    _file_links = css("table.code-browser a.browser-file, table.code-browser a.browser-dir")

    @property
    def entries(self) -> list[str]:
        return [e for e in self.all_text(self._entries) if e != ".."]

    def open_entry(self, name: str):
        """Open a file or directory of this listing. The site swaps the page in by script (pjax), so the
        link's address is typed instead: the same page a person lands on."""
        for text, href in self.links(self._file_links):
            if text == name:
                page = self._page("FilesPage" if href.endswith("/") else "FilePage")
                return self._next(page, self.browser.visit(href, page.ROUTE))
        raise AssertionError(f"the listing at {self.browser.url} has no {name!r} (it has {self.entries})")


class FilePage(RepoPage, route="file", loaded=css("#node_history, div.code-body, table.code-highlighttable")):
    _code = css("div.code-body pre, td.code pre")

    @property
    def text(self) -> str:  # noqa: D401 - the file as shown
        return "\n".join(self.texts(self._code, "innerText"))
