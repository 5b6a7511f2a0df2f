"""Files: the file browser (manifest), a file at a revision, its annotation, and the raw file."""

from __future__ import annotations

import re
from pathlib import Path

from hgharness.suites.pages.base import Cell, css, follows
from hgharness.suites.pages.hgweb.common import HgwebPage, menu_link

HEADING = re.compile(r"^(?:view|annotate|directory)\s+(.*?)\s+@\s+(\d+):([0-9a-f]{12})")


class _AtRevision(HgwebPage):
    """Pages whose heading reads '<what> <path> @ <rev>:<node>'."""

    def _heading_parts(self):
        m = HEADING.match(self.heading)
        assert m, f"{self.name}: unexpected heading {self.heading!r}"
        return m.groups()

    @property
    def path(self) -> str:
        return self._heading_parts()[0]

    @property
    def node(self) -> str:
        return self._heading_parts()[2]


class ManifestPage(_AtRevision, route="manifest", loaded=css("table.bigtable tbody")):
    _entry_links = css("table.bigtable tbody tr.fileline td:first-child a:first-of-type")

    @property
    def entries(self) -> list[str]:
        """Names in this directory as listed, subdirectories with a trailing '/' ('[up]' left out)."""
        return [t for t in self.all_text(self._entry_links, "innerText") if t and t != "[up]"]

    def open_dir(self, name: str) -> ManifestPage:
        return self._follow_text(self._entry_links, name.rstrip("/") + "/", "ManifestPage")

    def open_file(self, name: str) -> FilePage:
        return self._follow_text(self._entry_links, name, "FilePage")

    def open_path(self, path: str) -> FilePage:
        """Walk down the directories to a file, one click per level, as a person would."""
        page = self
        *dirs, name = path.split("/")
        for d in dirs:
            page = page.open_dir(d)
        return page.open_file(name)


class FilePage(_AtRevision, route="file", loaded=css("pre.sourcelines")):
    _lines = css("pre.sourcelines > span[id]")
    _menu_annotate = menu_link("annotate")
    _menu_raw = menu_link("raw")
    # a line's own text nodes only: the line-number link and the buttons followlines.js adds are not the file
    _line_text = Cell("", "ownText")

    open_annotate = follows(_menu_annotate, "AnnotatePage")

    @property
    def lines(self) -> list[str]:
        return [row[0].rstrip("\r\n") for row in self.cells(self._lines, self._line_text)]

    def download_raw(self) -> Path:
        """Click 'raw': hgweb serves the bytes as a download (application/binary); returns the saved file."""
        return self._download(self._menu_raw, "raw file")


class AnnotatePage(_AtRevision, route="annotate", loaded=css("tbody.sourcelines")):
    _rows = css("tbody.sourcelines > tr")
    _row_node = Cell(".annotate-info a")
    _row_text = Cell("td.source", "ownText")

    @property
    def lines(self) -> list[tuple[str, str]]:
        """(short node of the changeset that last changed the line, the line) for every line."""
        return [((node or "").strip(), text[1:] if text.startswith(" ") else text) for node, text in
                ((n, (t or "").rstrip("\r\n")) for n, t in self.cells(self._rows, self._row_node, self._row_text))]
