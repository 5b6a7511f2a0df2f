"""The freshness matrix: the writes the checks make (push, new head, tag, bookmark move), the views that must
show each of them, and how a view fetched before a write is judged after it by a client that honours cache
headers.

A view passes when the copy fetched before the write may not be kept by a cache past the write (CACHE RULE),
the revalidation of that copy (If-None-Match / If-Modified-Since with its validators) is answered with the new
view, not "304 Not Modified", and the new view shows the write.

CACHE RULE: a view that a write changes may be stored by a cache only as stale: Cache-Control no-store,
no-cache, max-age=0 (s-maxage=0), or no freshness information at all. An explicit lifetime (max-age or s-maxage
above 0, an Expires later than Date) lets a browser or a proxy show the old view for that long after a push;
Last-Modified without an explicit lifetime lets it keep the copy for a heuristic lifetime (RFC 9111 4.2.2,
commonly a tenth of the time since Last-Modified: days for a repository quiet for weeks). Either fails.

Writes go to a repository of their own where the site can create one (Kallithea through its API, deleted
afterwards), else to the push repository (plan.push_repo: its content is not compared with the fixture), each
on a named branch of its own with names of its own, so that other checks pushing meanwhile change nothing the
matrix looks at (a head another push built on is still accepted: see heads_problem).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime

from hgharness.suites.headless import wire
from hgharness.suites.support import pagetext
from hgharness.suites.support.http_checks import TIMEOUT

WRITES = ("push", "new_head", "tag", "bookmark")
HISTORY = ("push", "new_head", "tag")  # writes that add a changeset
IN_FLIGHT = 4  # views fetched at once
# hgweb's validators have a resolution of one second (ETag W/"<mtime of the changelog, bookmarks, phaseroots>"):
# the measured write starts in a later second of the clock than the "before" copies were fetched in (see README):
# at this many seconds past the start of the second they ended in
VALIDATOR_RESOLUTION_S = 1.02


def after_validator_second() -> None:
    """Wait until the clock is in a later second than now: a write made after it gets validators of its own,
    whatever any other check wrote in this second (checks share the push repository)."""
    import math
    import time

    time.sleep(max(0.0, math.floor(time.time()) + VALIDATOR_RESOLUTION_S - time.time()))

# view id (hgweb's command name; wire commands as wire:NAME) -> (page kind, representation, writes it shows)
VIEWS = {
    "log": ("log", "html", HISTORY),
    "shortlog": ("shortlog", "html", HISTORY),
    "graph": ("graph", "html", HISTORY),
    "summary": ("summary", "html", HISTORY),
    "rev": ("rev", "html", WRITES),
    "tags": ("tags", "html", ("tag",)),
    "branches": ("branches", "html", HISTORY),
    "bookmarks": ("bookmarks", "html", ("bookmark",)),
    "json-log": ("json_log", "json", HISTORY),
    "json-rev": ("json_rev", "json", WRITES),
    "json-tags": ("json_tags", "json", ("tag",)),
    "json-branches": ("json_branches", "json", HISTORY),
    "json-bookmarks": ("json_bookmarks", "json", ("bookmark",)),
    "refs": ("refs", "json", WRITES),  # Kallithea's refs-data: branches, tags and bookmarks at once
    "atom-log": ("atom_log", "atom", HISTORY),
    "rss-log": ("rss_log", "rss", HISTORY),
    "wire:heads": (None, "wire", HISTORY),
    "wire:branchmap": (None, "wire", HISTORY),
    "wire:listkeys": (None, "wire", ("bookmark",)),
}
WIRE_QUERY = {"wire:heads": "cmd=heads", "wire:branchmap": "cmd=branchmap",
              "wire:listkeys": "cmd=listkeys&namespace=bookmarks"}


@dataclasses.dataclass
class Write:
    """One write and the state it leaves: the branch of the check, its heads and tip, a tag or bookmark."""
    kind: str
    repo: str
    branch: str
    tip: str                      # hex of the branch's tip after the write
    heads: set[str]               # hex of the branch's heads after the write
    new: str | None = None        # hex of the changeset the write added (None: a bookmark move)
    tag: tuple[str, str] | None = None       # (name, hex)
    bookmark: tuple[str, str] | None = None  # (name, hex)

    @property
    def subject(self) -> str:
        """The changeset whose own views change: the branch tip, the tagged or the bookmarked changeset."""
        return (self.tag or self.bookmark or (None, self.tip))[1]


@dataclasses.dataclass
class View:
    id: str
    rep: str
    path: str
    headers: dict


@dataclasses.dataclass
class Seen:
    status: int
    headers: dict
    text: str


def views_for(target, kind: str, repo: str, branch: str, subject: str) -> list[View]:
    """The views of the site that show the change a write of `kind` makes (each URL once: Kallithea's graph is its
    log). A changeset's own pages are those of the branch (its new tip), or of the tagged or bookmarked changeset."""
    site, out, paths = target.site, [], set()
    for vid, (page, rep, writes) in VIEWS.items():
        if kind not in writes:
            continue
        if page is None:
            path = site.route("capabilities", repo).split("?", 1)[0] + "?" + WIRE_QUERY[vid]
            headers = dict(site.WIRE_HEADERS)
        elif page not in site.ROUTES:
            continue
        else:
            rev = (subject if kind in ("tag", "bookmark") else branch) if page in ("rev", "json_rev") else None
            path, headers = site.route(page, repo, rev=rev), {}
        if path not in paths:
            paths.add(path)
            out.append(View(vid, rep, path, headers))
    return out


def fetch_all(http, target, views: list[View], before: dict | None = None) -> dict[str, Seen]:
    """Every view at once (IN_FLIGHT at a time); with `before`, revalidating each copy with its validators."""
    def one(v: View) -> tuple[str, Seen]:
        headers = dict(v.headers)
        old = (before or {}).get(v.id)
        if old is not None and old.status == 200:
            if old.headers.get("etag"):
                headers["If-None-Match"] = old.headers["etag"]
            if old.headers.get("last-modified"):
                headers["If-Modified-Since"] = old.headers["last-modified"]
        r = http.get(target.url_for(v.path), headers=headers, timeout=TIMEOUT, allow_redirects=False)
        return v.id, Seen(r.status_code, {k.lower(): val for k, val in r.headers.items()}, r.text)

    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
        return dict(pool.map(one, views))


def cache_lifetime(headers: dict) -> str | None:
    """What lets a cache keep this copy fresh past a write (the CACHE RULE), or None."""
    cc = {}
    for part in headers.get("cache-control", "").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            cc[name.lower()] = value.strip().strip('"')
    if "no-store" in cc or "no-cache" in cc:
        return None
    for name in ("s-maxage", "max-age"):
        if name in cc:
            try:
                seconds = int(cc[name])
            except ValueError:
                return None  # invalid: caches treat it as stale
            return f"Cache-Control {name}={seconds}" if seconds > 0 else None
    if headers.get("expires"):
        try:
            expires = parsedate_to_datetime(headers["expires"])
            date = parsedate_to_datetime(headers["date"]) if headers.get("date") else None
        except (TypeError, ValueError):
            return None  # an unparsable Expires means already expired
        if date is not None and expires > date:
            return f"Expires {headers['expires']} after Date {headers['date']}"
        return None
    if headers.get("last-modified"):
        return (f"Last-Modified {headers['last-modified']} without Cache-Control or Expires (a heuristic "
                "lifetime, RFC 9111 4.2.2)")
    return None


def judge(view: View, before: Seen, after: Seen, w: Write) -> tuple[str | None, str | None]:
    """(what is wrong with the view after the write, or None; a stale-feed observation for known issues)."""
    where = f"{view.id} ({view.rep}, /{view.path}) after the {w.kind} write"
    if before.status == 200:
        lifetime = cache_lifetime(before.headers)
        if lifetime:
            return f"{where}: the copy fetched before the write carries {lifetime}: a cache may keep showing it", None
    if after.status == 304:
        sent = before.headers.get("etag") or before.headers.get("last-modified")
        return (f"{where}: answered 304 Not Modified to the validator of the copy fetched before the write "
                f"({sent}): a revalidating client keeps the old view"), None
    if after.status != 200:
        return f"{where}: HTTP {after.status} ({' '.join(after.text[:120].split())!r})", None
    tb = pagetext.traceback_in(after.text)
    if tb:
        return f"{where}: server traceback in the body ({tb[:120]!r})", None
    try:
        problem = SHOWS[view.id](after.text, w, view)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        problem = f"not readable ({type(e).__name__}: {e})"
    if problem is None:
        return None, None
    stale = view.rep in ("atom", "rss") and before.status == 200 and _nodes(after.text) == _nodes(before.text)
    return f"{where}: {problem}", ("stale" if stale else None)


# --- what each view must show ---------------------------------------------------------------------------------

def _nodes(text: str) -> set[str]:
    import re

    return set(re.findall(r"(?<![0-9a-f])[0-9a-f]{12}", text))


def _lists_new(text, w, view):
    short = w.tip[:12]
    return None if short in text else f"does not list the new changeset {short} (a stale view?)"


def _rev_page(text, w, view):
    if w.kind == "tag":
        return None if w.tag[0] in text else f"the page of {w.subject[:12]} does not show its new tag {w.tag[0]}"
    if w.kind == "bookmark":
        name = w.bookmark[0]
        return None if name in text else f"the page of {w.subject[:12]} does not show its bookmark {name}"
    return None if w.tip[:12] in text else (f"the page of branch {w.branch} does not show its new tip "
                                            f"{w.tip[:12]} (a stale view?)")


def _ref_row(name: str, node: str, what: str):
    def check(text, w, view):
        page = pagetext.parse(text, view.path)
        if pagetext.node_after(page.stream, name, node[:12]):
            return None
        return f"{what} {name} is not shown at {node[:12]} (a stale view?)"
    return check


def _html_refs(text, w, view):
    if view.id == "tags":
        return _ref_row(w.tag[0], w.tag[1], "tag")(text, w, view)
    if view.id == "bookmarks":
        return _ref_row(w.bookmark[0], w.bookmark[1], "bookmark")(text, w, view)
    return _ref_row(w.branch, w.tip, "branch")(text, w, view)


def _json_log(text, w, view):
    nodes = [c.get("node") for c in json.loads(text).get("changesets", [])]
    return None if w.tip in nodes else f"does not list the new changeset {w.tip[:12]} (a stale view?)"


def _json_rev(text, w, view):
    data = json.loads(text)
    if w.kind == "tag":
        return None if w.tag[0] in data.get("tags", []) else f"tags of {w.subject[:12]} lack {w.tag[0]}: " \
                                                             f"{data.get('tags')}"
    if w.kind == "bookmark":
        name = w.bookmark[0]
        return None if name in data.get("bookmarks", []) else f"bookmarks of {w.subject[:12]} lack {name}: " \
                                                              f"{data.get('bookmarks')}"
    node = data.get("node", "")
    return None if node == w.tip else f"branch {w.branch} is at {node[:12]}, not at its new tip {w.tip[:12]}"


def _json_refs(key: str, field: str):
    def check(text, w, view):
        got = {e.get(field): e.get("node") for e in json.loads(text).get(key, [])}
        name, node = {"tags": w.tag, "bookmarks": w.bookmark}.get(key) or (w.branch, w.tip)
        return None if got.get(name) == node else (f"{field} {name} is at {str(got.get(name))[:12]}, not at "
                                                   f"{node[:12]} (a stale view?)")
    return check


def _kallithea_refs(text, w, view):
    """refs-data: {"results": [{"text": "Branch", "children": [{"id": HEX, "text": NAME, "type": "branch"}]}]}."""
    kind, (name, node) = ("tag", w.tag) if w.tag else ("book", w.bookmark) if w.bookmark else \
        ("branch", (w.branch, w.tip))
    for group in json.loads(text).get("results", []):
        for ref in group.get("children", []):
            if ref.get("type") == kind and ref.get("text") == name:
                ident = str(ref.get("id", ""))
                return None if ident == node else f"{name} points at {ident[:12]}, not at {node[:12]} (a stale view?)"
    return f"does not list the {kind} {name}"


def _heads(text, w, view):
    heads = text.split()
    return None if w.tip in heads else f"heads {[h[:12] for h in heads][:8]} lack the new head {w.tip[:12]}"


def _branchmap(text, w, view):
    for line in text.splitlines():
        name, *nodes = line.split(" ")
        if urllib.parse.unquote(name) == w.branch:
            got = set(nodes)
            return None if got == w.heads else (f"branch {w.branch} has heads {sorted(n[:12] for n in got)}, "
                                                f"not {sorted(n[:12] for n in w.heads)} (a stale view?)")
    return f"does not list branch {w.branch}"


def _listkeys(text, w, view):
    marks = dict(line.split("\t", 1) for line in text.splitlines() if "\t" in line)
    name, node = w.bookmark
    return None if marks.get(name) == node else (f"bookmark {name} is at {marks.get(name, 'nothing')[:12]}, not "
                                                 f"at {node[:12]} (a stale view?)")


SHOWS = {
    "log": _lists_new, "shortlog": _lists_new, "graph": _lists_new, "summary": _lists_new,
    "atom-log": _lists_new, "rss-log": _lists_new, "rev": _rev_page,
    "tags": _html_refs, "branches": _html_refs, "bookmarks": _html_refs,
    "json-log": _json_log, "json-rev": _json_rev, "json-tags": _json_refs("tags", "tag"),
    "json-branches": _json_refs("branches", "branch"), "json-bookmarks": _json_refs("bookmarks", "bookmark"),
    "refs": _kallithea_refs, "wire:heads": _heads, "wire:branchmap": _branchmap, "wire:listkeys": _listkeys,
}


# --- the writes -------------------------------------------------------------------------------------------------

def token() -> str:
    return secrets.token_hex(4)


def commit(local, parent: bytes | None, branch: str, label: str, tag: tuple[str, bytes] | None = None) -> bytes:
    """One changeset on `branch` in process: a new file, or with `tag` a line added to .hgtags."""
    from mercurial import context

    if tag:
        old = local[parent][b".hgtags"].data() if parent and b".hgtags" in local[parent] else b""
        files = {b".hgtags": old + tag[1].hex().encode() + b" " + tag[0].encode() + b"\n"}
    else:
        files = {f"hgharness-fresh/{label}-{token()}.txt".encode(): b"written by the hgharness freshness check\n"}

    def filectx(repo, mctx, path):
        return context.memfilectx(repo, mctx, path, files[path])

    with local.wlock(), local.lock(), local.transaction(b"hgharness-fresh"):
        ctx = context.memctx(local, (parent, None), b"hgharness freshness check: " + label.encode(), sorted(files),
                             filectx, user=b"hgharness <hgharness@localhost>", branch=branch.encode())
        return local.commitctx(ctx)


def set_bookmark(local, name: str, node: bytes) -> None:
    with local.wlock(), local.lock(), local.transaction(b"hgharness-fresh-bookmark") as tr:
        local._bookmarks.applychanges(local, tr, [(name.encode(), node)])


def push(target, local, repo: str, revs: list[bytes], bookmarks: tuple[str, ...] = ()) -> None:
    """Push as the target's user (new branches and heads allowed); a refusal fails the check, saying so."""
    from mercurial import error, exchange

    remote = wire.peer(target, repo, auth=True)
    try:
        op = exchange.push(local, remote, force=True, revs=revs, newbranch=True,
                           bookmarks=[b.encode() for b in bookmarks])
    except error.Abort as e:
        raise AssertionError(f"push to {repo} by {target.username} was refused: {wire._message(e)}") from None
    finally:
        remote.close()
    if bookmarks and op.bkresult:
        raise AssertionError(f"push of bookmark {bookmarks[0]} to {repo} was refused (result {op.bkresult})")


def fork_point(local) -> bytes | None:
    """Where a check's branch starts: the repository's first changeset, which other checks never push onto (a
    branch from the tip would take the head status from a changeset another check just pushed), or nothing."""
    return local[0].node() if len(local) else None


def set_up(target, local, repo: str) -> dict:
    """The state each kind of write starts from, in one push: a branch of its own for each (the new head forks
    below its branch's head, the bookmark has a changeset to move on to). Returns the nodes by kind."""
    base, out, revs = fork_point(local), {}, []
    tok = token()
    for kind in WRITES:
        branch = f"hgharness-fresh-{kind.replace('_', '-')}-{tok}"
        a = commit(local, base, branch, f"{kind} base")
        nodes = out[kind] = {"branch": branch, "a": a, "tok": tok}
        if kind in ("new_head", "bookmark"):
            nodes["k"] = commit(local, a, branch, f"{kind} second")
        revs.append(nodes.get("k", a))
    mark = out["bookmark"]["mark"] = f"hgharness-fresh-{tok}"
    set_bookmark(local, mark, out["bookmark"]["a"])
    push(target, local, repo, revs, (mark,))
    return out


def write(target, local, repo: str, kind: str, nodes: dict) -> Write:
    """The measured write, pushed; returns what it must leave behind."""
    branch, a = nodes["branch"], nodes["a"]
    if kind == "push":
        p = commit(local, a, branch, "push")
        push(target, local, repo, [p])
        return Write(kind, repo, branch, p.hex(), {p.hex()}, new=p.hex())
    if kind == "new_head":
        n = commit(local, a, branch, "new head")
        push(target, local, repo, [n])
        return Write(kind, repo, branch, n.hex(), {n.hex(), nodes["k"].hex()}, new=n.hex())
    if kind == "tag":
        name = f"hgharness-fresh-{nodes['tok']}"
        t = commit(local, a, branch, "tag", tag=(name, a))
        push(target, local, repo, [t])
        return Write(kind, repo, branch, t.hex(), {t.hex()}, new=t.hex(), tag=(name, a.hex()))
    k, mark = nodes["k"], nodes["mark"]
    set_bookmark(local, mark, k)
    push(target, local, repo, [k], (mark,))
    return Write(kind, repo, branch, k.hex(), {k.hex()}, bookmark=(mark, k.hex()))


def heads_problem(target, local, repo: str, w: Write, problem: str) -> str | None:
    """The new head may have stopped being a head because another check pushed a child of it meanwhile: fine
    when a head the server lists now descends from it (the view is newer than the write, not older)."""
    remote = wire.peer(target, repo)
    try:
        heads = remote.heads()
        wire.pull(target, local, repo)
    finally:
        remote.close()
    later = [h for h in heads if h in local and local.revs(b"%n::%n", bytes.fromhex(w.tip), h)]
    return None if later else problem
