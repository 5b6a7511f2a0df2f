"""Is repository metadata rendered escaped? Built generically from the served repositories: every string a page
may show (descriptions, authors, file names, branch, tag and bookmark names) that holds an HTML metacharacter
or a script URL is "hostile", whether it comes from the `hostile` fixture or from an ordinary author's
`<email>`.

A page fails when
- a hostile string that could open a tag (`<x`, `</`, `<!`) appears verbatim in its HTML, or
- something on the page that would run script (a <script> element, an on* attribute, a javascript: URL) has
  content taken from a hostile string: the site's own scripts never consist of repository metadata.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from hgharness.suites.support.repodata import Repo, email, person, text

META = re.compile(r"[<>\"']|javascript:|vbscript:", re.I)
TAG_OPEN = re.compile(r"<[A-Za-z/!?]")
MIN_PAYLOAD = 3  # shorter executable values are too common to attribute to metadata
CAP = 10         # changesets and names of one kind rendered per repository
FILE_CAP = 25    # files with a hostile name or directory rendered per repository


@dataclass
class Hostile:
    """A repository's hostile strings and where they are shown."""
    strings: set[str] = field(default_factory=set)
    revs: list[int] = field(default_factory=list)                 # changesets with hostile text
    files: list[tuple[int, str]] = field(default_factory=list)    # (rev, path) with a hostile path
    branches: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    bookmarks: list[str] = field(default_factory=list)

    @functools.cached_property
    def verbatim(self) -> set[str]:
        """The strings (and their lines, names, emails) that must never appear as is in HTML."""
        out = set()
        for s in self.strings:
            for part in [s, person(s), email(s), *s.splitlines()]:
                if TAG_OPEN.search(part):
                    out.add(part)
        return out


def is_hostile(s: str) -> bool:
    return bool(META.search(s))


def _weight(s: str) -> int:
    """More kinds of metacharacters first: a `<script>` message before an `<email>`."""
    return len(set(META.findall(s.lower())))


def hostile_of(repo: Repo, scan_limit: int = 20000) -> Hostile:
    h = Hostile()
    revs: list[tuple[int, int]] = []
    files: dict[str, tuple[int, int]] = {}
    for r in repo.revs_desc[:scan_limit]:
        ctx = repo.ctx(r)
        desc, user = text(ctx.description()), text(ctx.user())
        w = 0
        for s in (desc, user):
            if is_hostile(s):
                h.strings.add(s)
                w = max(w, _weight(s))
        if w:
            revs.append((w, r))
        for f in ctx.files():
            f = text(f)
            if is_hostile(f) and f not in files and f.encode("utf-8", "surrogateescape") in ctx:
                files[f] = (_weight(f), r)
    h.revs = [r for _w, r in sorted(revs, key=lambda x: (-x[0], -x[1]))[:CAP]]
    # one file per distinct hostile name and per distinct hostile directory: every hostile segment is shown
    by_segment: dict[str, str] = {}
    for f in sorted(files, key=lambda f: (-files[f][0], f)):
        d, _, base = f.rpartition("/")
        for seg in (base, d):
            if seg and is_hostile(seg) and seg not in by_segment:
                by_segment[seg] = f
    chosen = list(dict.fromkeys(by_segment.values()))[:FILE_CAP]
    h.files = [(files[f][1], f) for f in chosen]
    h.strings |= {f for f in files}
    h.strings |= {part for f in files for part in f.split("/") if is_hostile(part)}
    for kind, names in (("branches", repo.branches()), ("tags", repo.tags()), ("bookmarks", repo.bookmarks())):
        bad = sorted((n for n in names if is_hostile(n)), key=lambda n: (-_weight(n), n))
        h.strings |= set(bad)
        setattr(h, kind, bad[:CAP])
    return h


def problems(body: str, page, strings: set[str], verbatim: set[str]) -> list[str]:
    """What is wrong with one HTML page, as short lines naming the string or the element."""
    out = []
    for s in sorted(verbatim):
        if s in body:
            out.append(f"unescaped {s[:60]!r}")
    for e in page.executables:
        v = e.value.strip()
        if len(v) >= MIN_PAYLOAD and any(v in s for s in strings):
            out.append(f"injected {e}")
    return out


def split_known(body: str, page, strings: set[str], verbatim: set[str], known: list[dict], kind: str):
    """(problems, known problems): problems inside the spans of markup a known issue of the site names (e.g.
    hgweb's feed <link> lines on filelog pages) are set apart; the rest of the page is checked as usual."""
    from hgharness.suites.support.pagetext import parse

    issues = [k for k in known if kind in k["kinds"] and "span" in k]
    if not issues:
        return problems(body, page, strings, verbatim), []
    rest, found_known = body, []
    for issue in issues:
        for span in re.findall(issue["span"], body):
            found = problems(span, parse(span, page.url), strings, verbatim)
            found_known += [f"{p} [{issue['id']}]" for p in found]
            rest = rest.replace(span, "")
    if rest == body:
        return problems(body, page, strings, verbatim), []
    return problems(rest, parse(rest, page.url), strings, verbatim), found_known
