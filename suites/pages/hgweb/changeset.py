"""A changeset: node, author, description, parents, files, and its diff."""

from __future__ import annotations

import re

from hgharness.suites.pages.base import Locator, css
from hgharness.suites.pages.hgweb.common import HgwebPage
from selenium.webdriver.common.by import By

DIFF_JS = """
return Array.from(document.querySelectorAll('div.diffblocks pre.sourcelines'),
                  pre => Array.from(pre.querySelectorAll('span[id]'), s => [s.className, s.textContent]));
"""
HEX12 = re.compile(r"[0-9a-f]{12}")


def entry_row(label: str) -> str:
    return f"//table[@id='changesetEntry']//tr[th[normalize-space()='{label}']]/td"


class ChangesetPage(HgwebPage):
    ROUTE = "rev"
    LOADED = css("table#changesetEntry")
    _node = css("div.main h3 > a")
    _description = css("div.main > div.description")
    _author = Locator(By.XPATH, entry_row("author"))
    _date = css("table#changesetEntry td.date")
    _parent_links = Locator(By.XPATH, entry_row("parents") + "/a")
    _child_links = Locator(By.XPATH, entry_row("children") + "/a")
    _file_links = css("table#changesetEntry td.files a")
    _diffstat_expand = css("#diffstatexpand")
    _diffstat_details = css("#diffstatdetails")
    _diffstat_files = css("#diffstatdetails td.diffstat-file a")

    @property
    def node(self) -> str:
        return self.text(self._node)

    @property
    def rev(self) -> int:
        m = re.search(r"changeset (\d+):", self.heading)
        return int(m.group(1)) if m else -1

    @property
    def author(self) -> str:
        return self.text(self._author)

    @property
    def description(self) -> str:
        """Whitespace-normalized (the page breaks lines with <br/>)."""
        return self.text(self._description)

    @property
    def parents(self) -> list[str]:
        return [t for t, _ in self.links(self._parent_links) if HEX12.fullmatch(t)]

    @property
    def children(self) -> list[str]:
        return [t for t, _ in self.links(self._child_links) if HEX12.fullmatch(t)]

    @property
    def files(self) -> list[str]:
        return [t for t, _ in self.links(self._file_links)]

    @property
    def diff(self) -> dict[str, list[str]]:
        """File path -> the lines the diff adds to it (new path for additions, old path for removals)."""
        out = {}
        for block in self.browser.js(DIFF_JS):
            old = new = None
            added = []
            for cls, text in block:
                if text.startswith("--- ") and old is None:
                    old = text[4:].split("\t")[0]
                elif text.startswith("+++ ") and new is None:
                    new = text[4:].split("\t")[0]
                elif "plusline" in cls:
                    added.append(text[1:])
            path = new[2:] if new and new.startswith("b/") else (old[2:] if old and old.startswith("a/") else None)
            if path is not None:
                out[path] = added
        return out

    def expand_diffstat(self) -> list[str]:
        """Click the diffstat's [+]; returns the files the expanded table lists."""
        self.find(self._diffstat_expand).click()
        self.browser.wait().until(lambda d: self.find(self._diffstat_details).is_displayed(),
                                  "the diffstat did not expand")
        return [t for t, _ in self.links(self._diffstat_files)]

    def open_parent(self, node: str):
        for el in self.find_all(self._parent_links):
            if el.text.strip() == node[:12]:
                return self._follow(el, ChangesetPage)
        raise AssertionError(f"changeset {self.node} does not link to parent {node[:12]} (shows {self.parents})")

    def open_file(self, path: str):
        from hgharness.suites.pages.hgweb.files import FilePage

        for el in self.find_all(self._file_links):
            if el.text.strip() == path:
                return self._follow(el, FilePage)
        raise AssertionError(f"changeset {self.node} does not link to file {path!r} (lists {self.files})")
