"""Reading pages as a user agent would: the visible text, the links, and what could execute script.

Parsing uses the standard library's html.parser (tolerant, like a browser), so character references are
decoded: an author obfuscated as `&#65;&#100;...` reads as the author.
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser

LINK_ATTRS = {"href", "src", "action", "formaction", "data", "poster", "background"}
URL_SCHEMES_SCRIPT = ("javascript:", "vbscript:", "data:text/html")
HEX = re.compile(r"^[0-9a-f]{12,40}$")
# what a server-side exception leaves in a body (the fixture content itself never holds it: see traceback_in)
TRACEBACK_MARKERS = ("Traceback (most recent call last)",)


def norm(s: str) -> str:
    """Whitespace-insensitive form, for finding multi-line text in rendered pages."""
    return " ".join(s.split())


@dataclass
class Executable:
    """Something in a page that runs script: an element, an event attribute or a script URL."""
    kind: str      # script | on-attribute | script-url
    tag: str
    name: str      # attribute name, or "src"/"text" for scripts
    value: str

    def __str__(self):
        return f"<{self.tag} {self.name}={self.value[:80]!r}> ({self.kind})"


@dataclass
class Page:
    url: str
    text: str = ""
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (tag, attr, absolute url)
    executables: list[Executable] = field(default_factory=list)
    tags: list[tuple[str, dict]] = field(default_factory=list)
    start_tags: list[tuple[str, str]] = field(default_factory=list)  # (tag, the start tag's source text)
    stream: str = ""  # the text with each link's target in its place (" <url> "): what a row shows and links

    @functools.cached_property
    def flat(self) -> str:
        return norm(self.text)

    def contains(self, s: str) -> bool:
        return norm(s) in self.flat

    def hrefs(self) -> list[str]:
        return [u for tag, attr, u in self.links if tag == "a" and attr == "href"]


class _Parser(HTMLParser):
    def __init__(self, page: Page):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.chunks: list[str] = []
        self.stream: list[str] = []
        self.in_script: dict | None = None
        self.script_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self._tag(tag, attrs)
        if tag == "script":
            self.in_script = dict(attrs)
            self.script_text = []

    def handle_startendtag(self, tag, attrs):
        self._tag(tag, attrs)
        if tag == "script":
            self.page.executables.append(Executable("script", "script", "src", dict(attrs).get("src") or ""))

    def _tag(self, tag, attrs):
        d = {k.lower(): (v or "") for k, v in attrs}
        self.page.tags.append((tag, d))
        self.page.start_tags.append((tag, self.get_starttag_text() or ""))
        for name, value in d.items():
            if name.startswith("on"):
                self.page.executables.append(Executable("on-attribute", tag, name, value))
            if name in LINK_ATTRS or (tag == "meta" and name == "content" and "url=" in value.lower()):
                v = value.strip()
                if v.lower().replace("\t", "").replace("\n", "").startswith(URL_SCHEMES_SCRIPT):
                    self.page.executables.append(Executable("script-url", tag, name, v))
                elif name != "content" and not v.startswith("#"):
                    self.page.links.append((tag, name, urllib.parse.urljoin(self.page.url, v)))
                    if tag == "a" and name == "href":
                        self.stream.append(f" <{urllib.parse.unquote(v)}> ")

    def handle_endtag(self, tag):
        if tag == "script" and self.in_script is not None:
            src = self.in_script.get("src") or ""
            body = "".join(self.script_text)
            self.page.executables.append(Executable("script", "script", "src" if src else "text", src or body))
            self.in_script = None

    def handle_data(self, data):
        if self.in_script is not None:
            self.script_text.append(data)
        else:
            self.chunks.append(data)
            self.stream.append(data)


MAX_PARSE = 3 * 1024 * 1024  # characters of a page parsed: what the checks read sits at the top of big pages


def parse(body: str, url: str, limit: int = MAX_PARSE) -> Page:
    """Parse a page (its first `limit` characters: a changeset with a 10 MB diff is checked on its head)."""
    page = Page(url=url)
    p = _Parser(page)
    p.feed(body[:limit])
    p.close()
    page.text = "".join(p.chunks)
    page.stream = norm("".join(p.stream))
    return page


def changeset_links(page: Page, target, repo: str) -> list[str]:
    """12-hex node prefixes of the changeset links on a page, in order, each once."""
    base = target.url_for(target.site.route("rev", repo, rev="X"))[:-1]
    # a site whose pages link every entry by its full node also links hashes quoted in descriptions
    # (Kallithea): only full-node links are entries there
    full_only = target.site.FULL_NODE_LINKS
    out: list[str] = []
    for _tag, _attr, url in page.links:
        u = url.split("#", 1)[0].split("?", 1)[0]
        if u.startswith(base):
            ident = urllib.parse.unquote(u[len(base):]).strip("/")
            if HEX.match(ident) and ident[:12] not in out and (len(ident) == 40 or not full_only):
                out.append(ident[:12])
    return out


_NODE_TOKEN = re.compile(r"(?<![0-9a-zA-Z])([0-9a-f]{12})(?:[0-9a-f]{28})?(?![0-9a-zA-Z])")


def _whole(flat: str, name: str):
    """(start, end) of each occurrence of `name` (normalized) in `flat` as a whole: whitespace before it, and
    whitespace, a colon or the end after it."""
    n = norm(name)
    start = 0
    while n:
        i = flat.find(n, start)
        if i < 0:
            return
        end = i + len(n)
        if (i == 0 or flat[i - 1] == " ") and (end == len(flat) or flat[end] in " :"):
            yield i, end
        start = i + 1


def node_after(flat: str, name: str, node12: str) -> bool:
    """Some occurrence of `name` (as a whole, whitespace-bounded) is followed by `node12` as the next node-like
    token: a row of a tags/branches/bookmarks table names the changeset it points at after the name. Given
    Page.stream, a node in a link's target counts too (gitweb links the node without showing it)."""
    for _, end in _whole(flat, name):
        m = _NODE_TOKEN.search(flat, end)
        if m and m.group(1) == node12:
            return True
    return False


_HEX = re.compile(r"\b([0-9a-f]{12})[0-9a-f]{0,28}\b")


def node_before(flat: str, name: str, node12: str) -> bool:
    """Some whitespace-bounded occurrence of `name` whose nearest node-like token before it is `node12` (a row
    that shows the changeset first, then the name: spartan's tag and branch lists)."""
    for i, _ in _whole(flat, name):
        tokens = _HEX.findall(flat, max(0, i - 200), i)
        if tokens and tokens[-1] == node12:
            return True
    return False


def contiguous(expected: list[str], got: list[str]) -> bool:
    """`expected` appears in `got` as one unbroken run."""
    n = len(expected)
    return any(got[i:i + n] == expected for i in range(len(got) - n + 1)) if n else True


def lines_in_order(lines: list[str], flat_text: str) -> str | None:
    """The first line (normalized, non-empty) not found after the previous one; None when all are in order."""
    pos = 0
    for line in lines:
        n = norm(line)
        if not n:
            continue
        i = flat_text.find(n, pos)
        if i < 0:
            return line
        pos = i + len(n)
    return None


def traceback_in(body: str, expected: str = "") -> str | None:
    """A traceback marker in a body, unless the content the page shows (`expected`) holds it itself."""
    for marker in TRACEBACK_MARKERS:
        if marker in body and marker not in expected:
            return marker
    return None
