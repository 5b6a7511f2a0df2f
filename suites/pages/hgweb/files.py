"""Files: the file browser (manifest), a file at a revision, its annotation, and the raw file."""

from __future__ import annotations

import re
from pathlib import Path

from hgharness.suites.pages.base import css, norm
from hgharness.suites.pages.hgweb.common import HgwebPage, menu_link

# A line's own text nodes only: the line-number link and the buttons followlines.js adds are not the file.
OWN_TEXT_JS = "const own = e => Array.from(e.childNodes).filter(n => n.nodeType === 3).map(n => n.data).join('');"
LINES_JS = OWN_TEXT_JS + """
return Array.from(document.querySelectorAll('pre.sourcelines > span[id]'), own);
"""
ANNOTATE_JS = OWN_TEXT_JS + """
return Array.from(document.querySelectorAll('tbody.sourcelines > tr'), tr => {
  const info = tr.querySelector('.annotate-info a');
  return [info ? info.textContent.trim() : '', own(tr.querySelector('td.source'))];
});
"""
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


class ManifestPage(_AtRevision):
    ROUTE = "manifest"
    LOADED = css("table.bigtable tbody")
    _entry_links = css("table.bigtable tbody tr.fileline td:first-child a:first-of-type")

    @property
    def entries(self) -> list[str]:
        """Names in this directory as listed, subdirectories with a trailing '/' ('[up]' left out)."""
        return [t for t, _ in self.links(self._entry_links) if t and t != "[up]"]

    def _open(self, name: str, page_cls):
        for el in self.find_all(self._entry_links):
            if norm(el.text) == norm(name):
                return self._follow(el, page_cls)
        raise AssertionError(f"directory {self.path!r} does not list {name!r} (lists {self.entries})")

    def open_dir(self, name: str) -> "ManifestPage":
        return self._open(name.rstrip("/") + "/", ManifestPage)

    def open_file(self, name: str) -> "FilePage":
        return self._open(name, FilePage)

    def open_path(self, path: str) -> "FilePage":
        """Walk down the directories to a file, one click per level, as a person would."""
        page = self
        *dirs, name = path.split("/")
        for d in dirs:
            page = page.open_dir(d)
        return page.open_file(name)


class FilePage(_AtRevision):
    ROUTE = "file"
    LOADED = css("pre.sourcelines")
    _menu_annotate = menu_link("annotate")
    _menu_raw = menu_link("raw")

    @property
    def lines(self) -> list[str]:
        return [t.rstrip("\r\n") for t in self.browser.js(LINES_JS)]

    def open_annotate(self) -> "AnnotatePage":
        return self._follow(self._menu_annotate, AnnotatePage)

    def download_raw(self) -> Path:
        """Click 'raw': hgweb serves the bytes as a download (application/binary); returns the saved file."""
        return self._download(self._menu_raw, "raw file")


class AnnotatePage(_AtRevision):
    ROUTE = "annotate"
    LOADED = css("tbody.sourcelines")

    @property
    def lines(self) -> list[tuple[str, str]]:
        """(short node of the changeset that last changed the line, the line) for every line."""
        return [(node, text[1:] if text.startswith(" ") else text) for node, text in
                ((n, t.rstrip("\r\n")) for n, t in self.browser.js(ANNOTATE_JS))]
