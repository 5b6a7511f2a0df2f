"""What a report's table cell (or paragraph) holds besides plain text and numbers.

The section code (reports/sections.py) builds these values; the templates (templates/macros.html) draw each kind.
No HTML is built in Python except the SVG charts (reports/svg.py); everything else is escaped by Jinja2.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Link:
    """A file of the run directory (href set), or a path outside it, shown as text only (href None)."""

    label: str
    href: str | None = None


@dataclass(frozen=True)
class Image:
    """A screenshot inlined as a data: URI (the page loads nothing), under a link to its file."""

    link: Link
    mime: str
    data: str  # base64


@dataclass(frozen=True)
class Status:
    """A status word, coloured by its CSS class st-<cls>."""

    text: object
    cls: str


def status(text, cls: str | None = None) -> Status:
    return Status(text, cls if cls is not None else str(text).lower().replace(" ", "-"))


@dataclass(frozen=True)
class Table:
    headers: list
    rows: list
    numeric: frozenset = field(default_factory=frozenset)  # columns aligned right, numbers
    cls: str = ""


@dataclass(frozen=True)
class Pre:
    """Preformatted text (JSON too deep for a table)."""

    text: str


@dataclass(frozen=True)
class Lines:
    """Lines shown one below the other, and how many more were left out."""

    items: list
    more: int = 0


@dataclass(frozen=True)
class Links:
    """Links in one cell, separated by commas."""

    items: list


KINDS = (Link, Image, Status, Table, Pre, Lines, Links)


def num(v, digits: int = 1) -> str:
    """A number as the report prints it: thousands separated, integers without decimals; None as nothing."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer()):
        return f"{v:,.0f}"
    if isinstance(v, float):
        return f"{v:,.{digits}f}" if abs(v) >= 1 or v == 0 else f"{v:.3g}"
    return str(v)
