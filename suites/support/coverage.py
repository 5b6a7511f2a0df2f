"""The coverage table: for every route of the site (suites/support/inventory.py) in every representation, which
checks assert (a) its status, (b) its content against the fixture, (c) its freshness after each kind of write,
(d) its response policy. Built from declarations, never from prose:

- the check tables of suites/headless/routes.py (TABLE_CHECKS: page kinds -> the test that runs them);
- any module under suites/ may define a module-level list
  `COVERAGE = [{"route": ..., "rep": ..., "aspect": "status|content|freshness|policy", "check": "test_name"}]`
  where route is an hgweb web command ('shortlog'), 'wire:CMD' for a wire-protocol command, or a Kallithea route
  name; a freshness entry may name its write ('write': push | new_head | tag | bookmark). An entry may give an
  adapter page kind ('kind': 'raw_rev') instead of route and rep: it then counts on every site that has the kind.
  An hgweb route on another site counts through the hgweb page kind it names (shortlog -> the site's shortlog).

The lists are read from the source (ast.literal_eval, nothing imported); a list that is not a literal is read by
importing its module. A route without a content oracle is listed by name with the reason it has none (REASONS),
or as a gap.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib
from dataclasses import dataclass, field
from pathlib import Path

from hgharness.suites.headless import routes as route_tables
from hgharness.suites.support.inventory import Inventory, _hgweb_parse, inventory

ASPECTS = ("status", "content", "freshness", "policy")
WRITES = ("push", "new_head", "tag", "bookmark")
SUITES_DIR = Path(__file__).resolve().parents[1]
FLAGS = {"status": "S", "content": "C", "freshness": "F", "policy": "P"}
REP_ALIASES = {"patch": "raw", "paper": "html"}  # hgweb: raw-rev is the patch; paper is the default style

# Why a (route, representation) has no content oracle, where there is a reason. Keys: "route/rep", "route" or an
# fnmatch pattern of either. Anything else without one is listed as a gap.
REASONS = {
    "hgweb": {
        "help": "Mercurial's own help text, not repository content",
        "help/*": "Mercurial's own help text, not repository content",
        "static": "the style's own files (CSS, JS, images): no repository content (status: the crawl)",
        "changelog": "the handler /log calls without a file: the same output as log, which has oracles",
        "changelog/*": "the handler /log calls without a file: the same output as log, which has oracles",
        "shortlog/raw": "the raw style has no shortlog: its map answers the fixed sentence \"'raw' is not a "
                        "browsable style\" (raw log and raw graph have oracles)",
        "rawfile": "the handler raw-file (file in the raw style) hands over to, checked there",
        "*/coal": "paper's templates under another style sheet (coal's map is paper's with a new header)",
        "wire:hello": "SSH only: hgweb does not answer it over HTTP",
        "wire:between": "legacy discovery (before `known`); no client of this harness's Mercurial sends it",
        "wire:branches": "legacy discovery (before `known`); no client of this harness's Mercurial sends it",
        "wire:changegroup": "legacy pull (before getbundle); no client of this harness's Mercurial sends it",
        "wire:changegroupsubset": "legacy pull (before getbundle); no client of this harness's Mercurial sends it",
        "wire:debugwireargs": "a debugging echo of its arguments: no repository content",
        "wire:clonebundles*": "answers only where the server is configured with clone bundles (not a fixture)",
        "wire:get_cached_bundle_inline": "answers only where the server is configured with clone bundles",
        "wire:stream_out": "a streaming clone: off unless the server allows it (server.uncompressed)",
        "wire:protocaps": "the client's capabilities sent to the server: nothing to compare",
        "wire:capabilities": "the server's own capability list (its status and required members are checked)",
        "wire:batch": "a container of other commands, whose answers are checked",
        "wire:pushkey": "a write (bookmarks, phases): checked by what reads them back (listkeys)",
        "wire:unbundle": "a write (push): checked by what reads it back (known, getbundle, the pages)",
    },
    "kallithea": {
        "*_delete": "a form post that deletes: a write checked by what reads it back, not a page",
        "*_update": "a form post: a write checked by what reads it back, not a page",
        "edit_*": "settings of the site's own objects (users, groups, repositories): site state, no fixture content",
        "admin_*": "site administration: site state, no fixture content",
        "auth_*": "site administration (authentication plugins): no fixture content",
        "defaults*": "site administration (repository defaults): no fixture content",
        "*_user": "users: site state, no fixture content",
        "*users*": "users and user groups: site state, no fixture content",
        "*group*": "repository and user groups: site state (the fixtures use none)",
        "new_*": "a creation form: site state, no fixture content",
        "*gist*": "gists: not part of the fixtures, not used by the harness",
        "my_account*": "the logged-in user's own settings: site state, no fixture content",
        "*journal*": "the activity journal: site events, not fixture content",
        "*password*": "accounts: no fixture content (login is checked by the account checks)",
        "login_home": "accounts: no fixture content (checked by the account checks)",
        "logout_home": "accounts: no fixture content (checked by the account checks)",
        "register": "accounts: no fixture content",
        "session_csrf_secret_token": "the session's CSRF token: no fixture content",
        "*search*": "full-text search needs the site's whoosh index, built by a separate job; not built here",
        "repo_creating_home": "repository creation progress: site state",
        "repo_check_home": "repository creation progress: site state",
        "about": "a static page about Kallithea",
        "compare_home": "the form that picks two revisions to compare: no data until they are picked (compare_url, "
                        "which has an oracle)",
        "repo_followers_home": "the users following the repository: site state (its creator follows it), not "
                               "fixture content",
        "repo_size": "the repository's size on the server's disk: its storage's, not fixture content",
        "repo_stats_home": "commit statistics, computed by a background job only for a repository that enables "
                           "them (the provisioned ones do not: the page says so)",
        "admin_home": "site administration: no fixture content",
        "api": "the JSON-RPC API: checked through the Kallithea API client (site state, not pages)",
        "toggle_following": "a form post (a write): site state",
        "*_comment*": "comments are site state made by the pull-request checks, not fixture content",
        "pullrequest*": "pull requests are site state made by the pull-request checks, not fixture content",
        "my_pullrequests": "pull requests are site state, not fixture content",
        "repos": "the list of the site's repositories (site state; the index is checked against the fixtures)",
        "update_repo": "a form post (a write): site state",
        "delete_repo": "a form post (a write): site state",
        "repo_fork*": "forks are site state made by the fork checks",
        "files_edit_home": "the web editor (a write)", "files_add_home": "the web editor (a write)",
        "files_delete_home": "the web editor (a write)",
        "create_repo_fields": "a form post (a write): site state",
        "delete_repo_fields": "a form post (a write): site state",
        "wire:hello": "SSH only", "wire:between": "legacy discovery; no modern client sends it",
        "wire:branches": "legacy discovery; no modern client sends it",
        "wire:changegroup*": "legacy pull; no modern client sends it",
        "wire:debugwireargs": "a debugging echo: no repository content",
        "wire:clonebundles*": "answers only where clone bundles are configured",
        "wire:stream_out": "a streaming clone: off unless the server allows it",
        "wire:protocaps": "the client's capabilities: nothing to compare",
        "wire:capabilities": "the server's own capability list (status and required members are checked)",
        "wire:batch": "a container of other commands, whose answers are checked",
        "wire:pushkey": "a write (bookmarks, phases): checked by what reads them back",
        "wire:unbundle": "a write (push): checked by what reads it back",
    },
}


@dataclass
class Coverage:
    inventory: Inventory
    cells: dict = field(default_factory=dict)    # (route, rep) -> {aspect: set(checks)}
    writes: dict = field(default_factory=dict)   # write -> set(checks) that check freshness after it
    extra: list = field(default_factory=list)    # declarations naming a row the inventory lacks
    unresolved: list = field(default_factory=list)  # declarations no row of this site matches

    def rows(self) -> list[tuple[str, str]]:
        return sorted(self.cells)

    def content_rows(self) -> list[tuple[str, str]]:
        return [k for k in self.rows() if self.cells[k].get("content")]

    def uncovered(self) -> dict[str, tuple[list[str], str | None]]:
        """route -> (its representations without a content oracle, the reason or None for a gap)."""
        out: dict[str, list[str]] = {}
        for route, rep in self.rows():
            if not self.cells[(route, rep)].get("content"):
                out.setdefault(route, []).append(rep)
        return {route: (reps, self.reason(route, reps)) for route, reps in out.items()}

    def reason(self, route: str, reps: list[str]) -> str | None:
        table = REASONS.get(self.inventory.site, {})
        found = {reason_for(table, route, rep) for rep in reps}
        found.discard(None)
        return "; ".join(sorted(found)) if found and all(reason_for(table, route, r) for r in reps) else None

    def counts(self) -> dict:
        content_routes = {r for r, _ in self.content_rows()}
        return {"routes": len(self.inventory.routes), "rows": len(self.cells),
                "routes_with_content": len(content_routes), "rows_with_content": len(self.content_rows()),
                "rows_with_status": sum(1 for k in self.cells if self.cells[k].get("status")),
                "rows_with_freshness": sum(1 for k in self.cells if self.cells[k].get("freshness")),
                "rows_with_policy": sum(1 for k in self.cells if self.cells[k].get("policy")),
                "writes": {w: len(self.writes.get(w, ())) for w in WRITES},
                "writes_with_freshness": sum(1 for w in WRITES if self.writes.get(w)),
                "gaps": sum(1 for _, (_, why) in self.uncovered().items() if why is None)}

    def to_json(self) -> dict:
        return {"site": self.inventory.site, "source": self.inventory.source, "counts": self.counts(),
                "rows": [{"route": r, "rep": rep, **{a: sorted(self.cells[(r, rep)].get(a, ())) for a in ASPECTS}}
                         for r, rep in self.rows()],
                "uncovered": [{"route": r, "reps": reps, "reason": why}
                              for r, (reps, why) in sorted(self.uncovered().items())],
                "writes": {w: sorted(self.writes.get(w, ())) for w in WRITES}}


def reason_for(table: dict, route: str, rep: str) -> str | None:
    for key in (f"{route}/{rep}", route):
        if key in table:
            return table[key]
    for pattern, why in sorted(table.items(), key=lambda kv: -len(kv[0])):  # the most specific first
        if fnmatch.fnmatchcase(f"{route}/{rep}", pattern) or ("/" not in pattern and
                                                               fnmatch.fnmatchcase(route, pattern)):
            return why
    return None


# --- declarations --------------------------------------------------------------------------------------------

def declarations(suites_dir: Path = SUITES_DIR) -> list[dict]:
    """Every coverage declaration: the check tables of routes.py, then each module's COVERAGE list."""
    out = [{"kind": kind, "aspect": aspect, "check": check, "module": "headless/routes.py"}
           for check, kinds, aspects in route_tables.TABLE_CHECKS for kind in kinds for aspect in aspects]
    for path in sorted(suites_dir.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "COVERAGE" not in text:
            continue
        rel = path.relative_to(suites_dir).as_posix()
        for entry in _module_coverage(path, text, rel):
            if not isinstance(entry, dict) or entry.get("aspect") not in ASPECTS or not entry.get("check") \
                    or not (entry.get("route") or entry.get("kind")):
                raise ValueError(f"suites/{rel}: COVERAGE entry {entry!r} needs route (or kind), aspect "
                                 f"({'|'.join(ASPECTS)}) and check")
            out.append({**entry, "module": rel})
    return out


def _module_coverage(path: Path, text: str, rel: str) -> list:
    for node in ast.parse(text, str(path)).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) and node.value is not None else []
        if any(isinstance(t, ast.Name) and t.id == "COVERAGE" for t in targets):
            try:
                return list(ast.literal_eval(node.value))
            except ValueError:  # built by code: import the module for it
                name = "hgharness.suites." + rel[:-3].replace("/", ".").removesuffix(".__init__")
                return list(importlib.import_module(name).COVERAGE)
    return []


# --- the table -----------------------------------------------------------------------------------------------

def build(site, inv: Inventory | None = None, decls: list[dict] | None = None) -> Coverage:
    inv = inv or inventory(site)
    cov = Coverage(inv, cells={row: {} for row in inv.rows()})
    hgweb_kinds = _hgweb_kinds()
    for d in declarations() if decls is None else decls:
        rows = _resolve(d, inv, hgweb_kinds)
        if not rows:
            cov.unresolved.append(d)
        for row in rows:
            if row not in cov.cells:
                cov.cells[row] = {}
                cov.extra.append(d)
            cov.cells[row].setdefault(d["aspect"], set()).add(d["check"])
            if d["aspect"] == "content":  # content is read from an answer: its status was asserted too
                cov.cells[row].setdefault("status", set()).add(d["check"])
        if rows and d["aspect"] == "freshness":
            cov.writes.setdefault(d.get("write") or "push", set()).add(d["check"])
    return cov


def _hgweb_kinds() -> dict[str, tuple[str, str]]:
    from hgharness.sites.hgweb import HgwebSite

    return {kind: _hgweb_parse(t, kind) for kind, t in HgwebSite.ROUTES.items()}


def _resolve(d: dict, inv: Inventory, hgweb_kinds: dict) -> list[tuple[str, str]]:
    """The rows of this site a declaration speaks of."""
    if d.get("kind"):
        if d["kind"] not in inv.kinds:
            return []
        route, rep = inv.kinds[d["kind"]]
        return _matching(inv, route, d.get("rep") or rep)
    route, rep = d["route"], d.get("rep") or ("wire" if d["route"].startswith("wire:") else "html")
    if route.startswith("wire:"):
        return [(route, "wire")]
    for canonical, others in inv.aliases.items():
        if route in others:
            route = canonical
    if route in inv.routes:
        return _matching(inv, route, rep)
    if inv.site != "hgweb":  # an hgweb web command: the page kind it is, on this site
        kind = _hgweb_kind(route, REP_ALIASES.get(rep, rep), hgweb_kinds)
        if kind and kind in inv.kinds:
            return _matching(inv, *inv.kinds[kind])
    return []


def _hgweb_kind(route: str, rep: str, hgweb_kinds: dict) -> str | None:
    found = [k for k, row in hgweb_kinds.items() if row == (route, rep)]
    if len(found) == 1:
        return found[0]
    for k in (route, f"{rep}_{route}"):  # several kinds share the row (log, log_from, search): the one so named
        if k in found:
            return k
    return None


def _matching(inv: Inventory, route: str, rep: str) -> list[tuple[str, str]]:
    reps = inv.routes.get(route, [])
    rep = REP_ALIASES.get(rep, rep) if inv.site == "hgweb" else rep
    hits = [r for r in reps if r == rep or r.startswith(rep + ":")]
    return [(route, r) for r in hits] or [(route, rep)]


# --- printing ------------------------------------------------------------------------------------------------

def flags(cell: dict) -> str:
    return "".join(FLAGS[a] if cell.get(a) else "." for a in ASPECTS)


def format_table(cov: Coverage) -> str:
    inv, c = cov.inventory, cov.counts()
    lines = [f"coverage of {inv.site}: routes from {inv.source}",
             "each representation: S status, C content against the fixture, F freshness after a write, "
             "P response policy ('.' none)", ""]
    by_route: dict[str, list[str]] = {}
    for route, rep in cov.rows():
        by_route.setdefault(route, []).append(f"{rep}:{flags(cov.cells[(route, rep)])}")
    width = max((len(r) for r in by_route), default=10) + 2
    for route, cells in by_route.items():
        alias = f" (= {', '.join(inv.aliases[route])})" if route in inv.aliases else ""
        method = f" [{','.join(inv.methods[route])}]" if route in inv.methods else ""
        lines.append(f"{(route + alias + method).ljust(width)}{'  '.join(cells)}")
    uncovered = cov.uncovered()
    lines += ["", f"routes without a content oracle ({len(uncovered)}, by name; with the representations lacking "
                  "one and why):"]
    for route, (reps, why) in sorted(uncovered.items(), key=lambda kv: (kv[1][1] is not None, kv[0])):
        lines.append(f"  {route} [{', '.join(reps)}]: {why or 'GAP: no check asserts its content'}")
    lines += ["", f"routes: {c['routes']} ({c['routes_with_content']} with a content oracle in some representation)",
              f"representations with a content oracle: {c['rows_with_content']} of {c['rows']} (route, "
              f"representation) rows; status {c['rows_with_status']}, freshness {c['rows_with_freshness']}, "
              f"policy {c['rows_with_policy']}",
              f"writes with a freshness check: {c['writes_with_freshness']} of {len(WRITES)} ("
              + ", ".join(f"{w} {n}" for w, n in c["writes"].items()) + " checks)"]
    for note in inv.notes:
        lines.append(f"note: {note}")
    for d in cov.extra:  # shown, not dropped: the declaration or the inventory is wrong, and a reader should know
        lines.append(f"note: suites/{d['module']} declares {d.get('route') or d.get('kind')} as "
                     f"{d.get('rep') or 'its representation'} ({d['check']}), which {inv.site} does not list")
    return "\n".join(lines)


def site_of(args):
    """The site adapter `check --coverage` describes: the target's when one is named, else --site or
    HGHARNESS_SITE (default hgweb). Nothing is requested from the site: the table is what the checks declare."""
    import os

    from hgharness.options import target_from_namespace
    from hgharness.sites import load_site

    if getattr(args, "target", None) or os.environ.get("HGHARNESS_TARGET"):
        return target_from_namespace(args).site
    return load_site(getattr(args, "site", None) or os.environ.get("HGHARNESS_SITE") or "hgweb")


def command(args) -> int:
    """`hgharness check --coverage`: print the table; exit 0 (a gap is shown, not judged)."""
    print(format_table(build(site_of(args))))
    return 0
