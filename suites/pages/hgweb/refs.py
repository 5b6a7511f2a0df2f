"""Branches, tags and bookmarks: name -> node tables whose names lead to the changeset (or branch log)."""

from __future__ import annotations

from hgharness.suites.pages.base import Cell, css, follows_named, norm
from hgharness.suites.pages.hgweb.common import HgwebPage


class _RefsPage(HgwebPage, loaded=css("table.bigtable")):
    _rows = css("tr.tagEntry")
    _name_links = css("tr.tagEntry td:first-child a")
    _row_name = Cell("td:first-child a")
    _row_node = Cell("td.node a")
    _row_state = Cell("td:first-child a", "className")

    def _table(self) -> list[tuple[str, str, str]]:
        return [(norm(n), norm(node), state or "") for n, node, state in
                self.cells(self._rows, self._row_name, self._row_node, self._row_state)]

    @property
    def entries(self) -> dict[str, str]:
        """name (whitespace-normalized) -> short node, as listed."""
        return {n: node for n, node, _ in self._table()}


class TagsPage(_RefsPage, route="tags"):
    open_tag = follows_named(_RefsPage._name_links, "ChangesetPage", "textContent")


class BookmarksPage(_RefsPage, route="bookmarks"):
    open_bookmark = follows_named(_RefsPage._name_links, "ChangesetPage", "textContent")


class BranchesPage(_RefsPage, route="branches"):
    open_branch = follows_named(_RefsPage._name_links, "ShortlogPage", "textContent")

    @property
    def states(self) -> dict[str, str]:
        """branch -> 'open', 'inactive' or 'closed' (the link's class)."""
        return {n: state for n, _, state in self._table()}
