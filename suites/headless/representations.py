"""Reading one changeset, file or ref out of each form a site gives it: the files a changeset page links, the
per-file lines of a patch (raw or JSON), the files of a feed entry, and the changeset a `getbundle` brings over
the wire protocol (its text, which must hash to its node)."""

from __future__ import annotations

import html
import re
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from hgharness.suites.support import inventory

MAX_FILES = 20       # files of a changeset compared line by line
MAX_LINES = 200      # lines of a file (or of a file's diff) compared on a page
ATOM = "{http://www.w3.org/2005/Atom}"
XHTML = "{http://www.w3.org/1999/xhtml}"
_BINARY = re.compile(r"Binary file (.+) has changed")
_FILE_LINK = re.compile(r"^(?:diff|file|comparison|annotate)/([0-9a-f]{12,40})/(.+)$")


def linked_files(hrefs: list[str], base: str, node: str) -> set[str]:
    """Paths a page links as a file, diff, comparison or annotate view at `node` (its full or short hash)."""
    out = set()
    for url in hrefs:
        path = urllib.parse.urlsplit(url).path
        if not url.startswith(base):
            continue
        m = _FILE_LINK.search(path[len(urllib.parse.urlsplit(base).path):])
        if m and node.startswith(m.group(1)):
            out.add(urllib.parse.unquote(m.group(2)))
    return out


def patch_files(text: str) -> dict[str, list[str]]:
    """A patch (raw-rev: 'diff -r A -r B PATH' or git 'diff --git a/P b/P' blocks) -> path -> its +/- lines
    (without the marker, without the ---/+++ header lines), in order."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.split("\n"):
        if line.startswith("diff -r "):
            parts = line.split(" ", 5)
            current = parts[5] if len(parts) == 6 else parts[-1]
            out[current] = []
        elif line.startswith("diff --git a/"):
            current = line.rsplit(" b/", 1)[1]
            out[current] = []
        elif current is not None and line.startswith(("+", "-")) and not line.startswith(("+++ ", "--- ")):
            out[current].append(line[1:])
    return out


def fixture_diff(repo, rev, git: bool, base=None) -> str:
    """Mercurial's own diff of a changeset against its first parent (or `base`), git-style or not."""
    from mercurial import diffutil, patch

    ctx = repo.repo[rev]
    old = ctx.p1() if base is None else repo.repo[base]
    opts = diffutil.diffallopts(repo.repo.ui, {b"git": git})
    return b"".join(patch.diff(repo.repo, old.node(), ctx.node(), opts=opts)).decode("utf-8", "replace")


def fixture_patch(repo, rev, git: bool) -> dict[str, list[str]]:
    """The fixture's own patch of a changeset against its first parent, in the site's format (git or not),
    read by patch_files: what a site's patch must hold, file by file."""
    return patch_files(fixture_diff(repo, rev, git))


def compare_patch(what: str, got: dict[str, list[str]], repo, rev, git: bool) -> list[str]:
    """A site's patch of a changeset (read into path -> +/- lines) against the fixture's own, file by file."""
    full = fixture_patch(repo, rev, git=git)
    want = cut(full)
    return compare_diffs(what, got, list(want), want, counts={f: len(full[f]) for f in want})


def compare_diffs(what: str, got: dict[str, list[str]], changed: list[str], want: dict,
                  counts: dict[str, int] | None = None) -> list[str]:
    """A site's diff (path -> +/- lines) against the fixture's: the files, each file's first MAX_LINES lines
    and, given `counts` (path -> the fixture's whole number of +/- lines), how many lines each file has, so a line
    dropped or added past the compared lines is seen too."""
    out = []
    missing = [f for f in changed if f not in got]
    extra = sorted(set(got) - set(changed)) if len(changed) < MAX_FILES else []
    if missing or extra:
        out.append(f"{what} has diffs of {sorted(got)[:5]}: missing {missing[:3]}, not changed {extra[:3]}")
    for f in changed:
        if f in got and got[f][:MAX_LINES] != want[f]:
            g, w = got[f][:MAX_LINES], want[f]
            at = next((i for i, (a, b) in enumerate(zip(g, w, strict=False)) if a != b), min(len(g), len(w)))
            out.append(f"{what}: diff of {f} differs from the fixture's at +/- line {at + 1} "
                       f"({len(g)} lines, fixture {len(w)})")
            break
        if f in got and counts and len(got[f]) != counts[f]:
            out.append(f"{what}: diff of {f} has {len(got[f])} +/- lines, the fixture's {counts[f]}")
            break
    return out


def cut(patch: dict[str, list[str]]) -> dict[str, list[str]]:
    return {f: lines[:MAX_LINES] for f, lines in sorted(patch.items())[:MAX_FILES]}


def json_diff_files(diff: list[dict]) -> dict[str, list[str]]:
    """json-rev's "diff" blocks -> path -> +/- lines: each block names its file in a 'diff' line or its
    ---/+++ lines (the side that is not /dev/null); a binary file's block holds only hgweb's one line "Binary file
    PATH has changed" (a 'diff' line the fixture's own patch has)."""
    out: dict[str, list[str]] = {}
    for block in diff:
        lines = [entry.get("l", "").rstrip("\n") for entry in block.get("lines", [])]
        names = [ln.split(" ", 5)[-1] for ln in lines if ln.startswith("diff -r ")]
        names += [ln[6:].split("\t", 1)[0] for ln in lines if ln.startswith(("+++ b/", "--- a/"))]
        names += [m.group(1) for ln in lines if (m := _BINARY.fullmatch(ln))]
        if names:
            out[names[0]] = [ln[1:] for ln in lines if ln.startswith(("+", "-")) and not ln.startswith(("+++ ", "--- "))]
    return out


# Kallithea's changelog label (changelog_details): <span class="KIND" ... title="TITLE">COUNT</span>. Kallithea
# 0.7.0 writes the paths into the title unescaped (h.changed_tooltip returns a literal), so a path with a quote does
# not end the attribute: the title runs to the '">COUNT</span>' that ends the label
_LABEL = re.compile(r'<span class="(removed|changed|added)"[^>]*?title="(.*?)">(\d+|!)</span>', re.S)


def changelog_labels(text: str) -> dict[str, tuple[str, str]]:
    """Kallithea's changelog details -> {removed|changed|added: (title, count or "!")}."""
    return {k: (title, n) for k, title, n in _LABEL.findall(text)}


def label_paths(title: str, want: list[str]) -> list[str]:
    """The paths a label's title lists ("<b>Kind</b>: <br/> P1<br/> P2..." and " and N more"), each read escaped
    (as it should be) or as it is (as Kallithea 0.7.0 writes it), whichever is one of `want`."""
    # each entry follows "<br/> " (one space); a path's own leading or trailing spaces stay
    names = [x[1:] if x.startswith(" ") else x for x in title.split("<br/>")[1:]]
    names = [x for x in names if not re.fullmatch(r" ?and \d+ more", x)]
    return [x if x in want else html.unescape(x) for x in names]


def atom_entry_files(root: ET.Element, node: str) -> list[str] | None:
    """The files of the atom entry of `node` (hgweb's entries hold a 'files' row), None when it has no entry."""
    for entry in root.findall(ATOM + "entry"):
        if not (entry.findtext(ATOM + "id") or "").endswith(node):
            continue
        for tr in entry.iter(XHTML + "tr"):
            if (tr.findtext(XHTML + "th") or "").strip() == "files":
                td = tr.find(XHTML + "td")
                names = [td.text or ""] + [(br.tail or "") for br in td]
                return [n.strip() for n in names if n.strip()]
        return []
    return None


def rss_entry_files(root: ET.Element, node: str) -> list[str] | None:
    """The files of the rss item of `node` (in its description's HTML), None when it has no item."""
    for item in root.findall("./channel/item"):
        if not (item.findtext("guid") or "").endswith(node[:12]):
            continue
        m = re.search(r"files</th>\s*<td>(.*?)</td>", item.findtext("description") or "", re.S)
        if not m:
            return []
        return [html.unescape(n).strip() for n in re.split(r"<br\s*/?>", m.group(1)) if n.strip()]
    return None


def wire_changesets(target, repo: str, local, node: bytes, parents: list[bytes]) -> list[tuple]:
    """What `getbundle` (heads: the node, common: its parents) brings: (node, p1, p2, text) of every changeset
    in the bundle's changelog part, the text rebuilt from its delta against its base (a changeset of the same
    bundle, or one the fixture `local` has; None when neither)."""
    from contextlib import closing

    from mercurial import mdiff
    from mercurial import node as hgnode

    from hgharness.suites.headless import wire

    out, texts = [], {hgnode.nullid: b""}
    with closing(wire.peer(target, repo)) as remote:
        cg = remote.getbundle(b"hgharness", heads=[node], common=parents or [hgnode.nullid])
        cg.changelogheader()
        for d in cg.deltaiter():
            base = texts.get(d.delta_base)
            if base is None and local.changelog.hasnode(d.delta_base):
                base = local.changelog.revision(d.delta_base)
            text = bytes(mdiff.patch(base, d.delta)) if base is not None else None
            texts[d.node] = text
            out.append((d.node, d.p1, d.p2, text))
    return out


def parse_changeset_text(text: bytes) -> dict:
    """A changelog entry: manifest node, user, date, files, description."""
    head, _, desc = text.partition(b"\n\n")
    lines = head.split(b"\n")
    when = lines[2].split(b" ")
    return {"manifest": lines[0].decode(), "user": lines[1].decode("utf-8", "replace"),
            "date": [float(when[0]), int(when[1])], "files": [f.decode("utf-8", "replace") for f in lines[3:]],
            "desc": desc.decode("utf-8", "replace")}


def raw_refs(text: str) -> dict[str, str]:
    """raw-tags / raw-branches / raw-bookmarks: 'name<TAB>node[<TAB>status]' lines -> name -> node."""
    out = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            out[parts[0]] = parts[1]
    return out


def feed_titles(root: ET.Element) -> list[tuple[str, str]]:
    """(title, link) of each atom entry or rss item."""
    if root.tag == ATOM + "feed":
        return [(e.findtext(ATOM + "title") or "", " ".join(x.get("href", "") for x in e.findall(ATOM + "link")))
                for e in root.findall(ATOM + "entry")]
    return [(i.findtext("title") or "", i.findtext("link") or "") for i in root.findall("./channel/item")]


# --- the rows and styles the checks of every form share (test_representations, test_data_forms) -------------

LABELS = ("tip", "rename", "merge", "root")  # the first two a repository has are checked (the tip: in the feeds)
HISTORY = 10         # entries of a file's history, or of the history pages


def sample_rows(plan, per_repo: int = 2) -> list:
    rows = []
    for name in plan.checked:
        by_label = {s.label: s for s in plan.samples(name)}
        rows += [pytest.param(by_label[k], id=by_label[k].id) for k in LABELS if k in by_label][:per_repo]
    return rows


def file_rows(plan) -> list:
    return sample_rows(plan, per_repo=1)


def repo_rows(plan) -> list:
    return [pytest.param(name, id=name) for name in plan.checked]


def _styles(target, route: str | None = None) -> list[tuple[str, dict]]:
    """The HTML forms of a page: the default, then each other style (as query parameters) that renders it."""
    site = target.site
    return [("default", {})] + [(s, {site.STYLE_PARAM: s}) for s in site.HTML_STYLES
                                if route is None or s in _offered(target, route)]


def _offered(target, route: str) -> list[str]:
    """The styles whose template maps render a route (the inventory of the installed Mercurial's hgweb)."""
    return inventory.hgweb_inventory_cached().routes.get(route, []) if target.site.STYLE_PARAM else []


def _data_style(target, style: str) -> dict | None:
    site = target.site
    return {site.STYLE_PARAM: style} if style in site.DATA_STYLES else None
