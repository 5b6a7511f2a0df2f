"""Branches, tags and bookmarks: name -> node tables whose names lead to the changeset (or branch log)."""

from __future__ import annotations

from hgharness.suites.pages.base import css, norm
from hgharness.suites.pages.hgweb.common import HgwebPage

ROWS_JS = """
return Array.from(document.querySelectorAll('tr.tagEntry'), tr => {
  const a = tr.querySelectorAll('a');
  return [a[0] ? a[0].textContent : '', a[1] ? a[1].textContent : '', a[0] ? a[0].className : ''];
});
"""


class _RefsPage(HgwebPage):
    LOADED = css("table.bigtable")
    _name_links = css("tr.tagEntry td:first-child a")

    def _rows(self):
        return [(norm(n), norm(node), cls) for n, node, cls in self.browser.js(ROWS_JS)]

    @property
    def entries(self) -> dict[str, str]:
        """name (whitespace-normalized) -> short node, as listed."""
        return {n: node for n, node, _ in self._rows()}

    def _open(self, name: str, page_cls):
        for el in self.find_all(self._name_links):
            if norm(el.get_property("textContent")) == norm(name):
                return self._follow(el, page_cls)
        raise AssertionError(f"{self.name} does not list {name!r} (lists {sorted(self.entries)})")


class TagsPage(_RefsPage):
    ROUTE = "tags"

    def open_tag(self, tag: str):
        from hgharness.suites.pages.hgweb.changeset import ChangesetPage

        return self._open(tag, ChangesetPage)


class BookmarksPage(_RefsPage):
    ROUTE = "bookmarks"

    def open_bookmark(self, bookmark: str):
        from hgharness.suites.pages.hgweb.changeset import ChangesetPage

        return self._open(bookmark, ChangesetPage)


class BranchesPage(_RefsPage):
    ROUTE = "branches"

    @property
    def states(self) -> dict[str, str]:
        """branch -> 'open', 'inactive' or 'closed' (the link's class)."""
        return {n: cls for n, _, cls in self._rows()}

    def open_branch(self, branch: str):
        from hgharness.suites.pages.hgweb.log import ShortlogPage

        return self._open(branch, ShortlogPage)
