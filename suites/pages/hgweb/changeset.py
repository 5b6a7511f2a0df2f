"""A changeset: node, author, description, parents, files, and its diff."""

from __future__ import annotations

import re

from hgharness.suites.pages.base import css, follows_named, listed, shown, xpath
from hgharness.suites.pages.hgweb.common import HgwebPage

DIFF_JS = """
return Array.from(document.querySelectorAll('div.diffblocks pre.sourcelines'),
                  pre => Array.from(pre.querySelectorAll('span[id]'), s => [s.className, s.textContent]));
"""
HEX12 = re.compile(r"[0-9a-f]{12}")


def entry_row(label: str) -> str:
    return f"//table[@id='changesetEntry']//tr[th[normalize-space()='{label}']]/td"


class ChangesetPage(HgwebPage, route="rev", loaded=css("table#changesetEntry")):
    _node = css("div.main h3 > a")
    _description = css("div.main > div.description")
    _author = xpath(entry_row("author"))
    _parent_links = xpath(entry_row("parents") + "/a")
    _child_links = xpath(entry_row("children") + "/a")
    _file_links = css("table#changesetEntry td.files a")
    _diffstat_expand = css("#diffstatexpand")
    _diffstat_details = css("#diffstatdetails")
    _diffstat_files = css("#diffstatdetails td.diffstat-file a")

    node = shown(_node)
    author = shown(_author)
    description = shown(_description, "Whitespace-normalized (the page breaks lines with <br/>).")
    files = listed(_file_links, "innerText")
    open_file = follows_named(_file_links, "FilePage")

    @property
    def rev(self) -> int:
        m = re.search(r"changeset (\d+):", self.heading)
        return int(m.group(1)) if m else -1

    @property
    def parents(self) -> list[str]:
        return [t for t in self.all_text(self._parent_links, "innerText") if HEX12.fullmatch(t)]

    @property
    def children(self) -> list[str]:
        return [t for t in self.all_text(self._child_links, "innerText") if HEX12.fullmatch(t)]

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
        return self.all_text(self._diffstat_files, "innerText")

    def open_parent(self, node: str):
        return self._follow_text(self._parent_links, node[:12], "ChangesetPage")
