"""What the response policy checks request: one probe per route kind of the site adapter (and per archive
format, and two wire-protocol commands), each named as the site names it (hgweb's web command, `wire:CMD`,
Kallithea's route name) with its representation; and the answers, fetched once per worker, bounded in time
(the target's request deadline) and in size (the first BODY_CAP bytes)."""

from __future__ import annotations

from dataclasses import dataclass

from hgharness.suites.headless.routes import HOSTING_PAGES
from hgharness.suites.security.policy_rules import FOREIGN_ORIGIN
from hgharness.suites.support.http_checks import TIMEOUT
from hgharness.suites.support.known_issues import KnownIssue, url_issue

BODY_CAP = 256 * 1024  # enough to see a page's forms; archives and big files are not read further

REPS = {  # page kind -> its representation
    **dict.fromkeys(("index", "summary", "log", "log_from", "shortlog", "graph", "rev", "manifest", "file",
                     "annotate", "diff", "comparison", "filelog", "branches", "tags", "bookmarks", "search",
                     "file_diff", *HOSTING_PAGES["anonymous"], *HOSTING_PAGES["user"]), "html"),
    **dict.fromkeys(("json_log", "json_rev", "json_tags", "json_branches", "json_bookmarks", "json_index",
                     "refs", "api", "changeset_children", "changeset_info", "nodelist", "file_history",
                     "repo_switcher"), "json"),
    "raw_rev": "patch", "raw_diff": "patch", "download_rev": "patch", "raw_changeset": "patch", "raw_file": "raw", "download_file": "raw", "archive": "archive",
    "atom_log": "atom", "rss_log": "rss", "capabilities": "wire", "wire_heads": "wire", "static": "static",
}
# kinds not requested, and why
NOT_PROBED = {
    "logout": "a POST that ends the session", "repos_post": "a POST that creates a repository",
    "pull_request": "needs a pull request", "pull_request_comment": "a POST that comments",
    "changeset_comment": "a POST that comments",
    **dict.fromkeys(("changeset_children", "changeset_info", "changelog_details", "repo_switcher"),
                    "answers only a page script's request (XHR headers); the page that loads it is probed"),
}
# the site's own name of each kind's route: hgweb's web command (mercurial.hgweb.webcommands), Kallithea's
# route name (kallithea/config/routing.py); the wire protocol's commands as wire:CMD
ROUTE_NAMES = {
    "hgweb": {
        "index": "index", "json_index": "index", "summary": "shortlog", "log": "log", "log_from": "log",  # summary: {repo}/, paper's shortlog
        "search": "log", "json_log": "log", "atom_log": "log", "rss_log": "log", "shortlog": "shortlog",
        "graph": "graph", "rev": "rev", "raw_rev": "rev", "json_rev": "rev", "manifest": "manifest",
        "file": "file", "raw_file": "rawfile", "annotate": "annotate", "diff": "diff", "comparison": "comparison",
        "filelog": "filelog", "archive": "archive", "branches": "branches", "json_branches": "branches",
        "tags": "tags", "json_tags": "tags", "bookmarks": "bookmarks", "json_bookmarks": "bookmarks",
        "static": "static",
    },
    "kallithea": {
        "index": "home", "summary": "summary_home", "log": "changelog_home", "shortlog": "changelog_home",
        "graph": "changelog_home", "log_from": "changelog_file_home", "filelog": "changelog_file_home",
        "rev": "changeset_home", "raw_rev": "changeset_patch_home", "raw_diff": "changeset_raw_home",
        "manifest": "files_home", "file": "files_home", "raw_file": "files_raw_home",
        "download_file": "files_rawfile_home", "annotate": "files_annotate_home", "file_diff": "files_diff_home",
        "archive": "files_archive_home", "atom_log": "atom_feed_home", "rss_log": "rss_feed_home",
        "refs": "repo_refs_data", "login": "login_home", "register": "register", "my_account": "my_account",
        "my_pull_requests": "my_pullrequests", "repo_create": "new_repo", "repo_settings": "edit_repo",
        "repo_permissions": "edit_repo_perms", "fork": "repo_fork_home", "forks": "repo_forks_home",
        "followers": "repo_followers_home", "statistics": "repo_stats_home", "compare": "compare_home",
        "pull_requests": "pullrequest_show_all", "pull_request_new": "pullrequest_home", "admin": "admin_home",
        "admin_repos": "repos", "admin_users": "users", "admin_settings": "admin_settings",
        "admin_permissions": "admin_permissions", "journal": "journal", "public_journal": "public_journal",
        "site_search": "search", "api": "api", "file_diff_2way": "files_diff_2way_home",
        "files_root": "files_home_nopath", "summary_page": "summary_home_summary",
        "download_rev": "changeset_download_home", "raw_changeset": "raw_changeset_home_depraced",
        "compare_revs": "compare_url", "changeset_children": "changeset_children", "changeset_info": "changeset_info",
        "changelog_details": "changelog_details", "nodelist": "files_nodelist_home",
        "file_history": "files_history_home", "file_authors": "files_authors_home",
        "repo_switcher": "repo_switcher_data",
    },
}
# where the inventory names a probe's representation otherwise than its type rule does (the coverage declaration
# follows the inventory; the probe keeps its rule): Kallithea's changeset-raw is a plain-text diff, held to the
# patch types, which the inventory classes as raw (its route serves text/plain)
DECLARED_REPS = {"kallithea": {"raw_diff": "raw"}}
WIRE_ROUTES = {"capabilities": "wire:capabilities", "wire_heads": "wire:heads"}
PREFLIGHT_REPS = ("html", "json", "wire", "patch")  # one preflight per representation a script might want


@dataclass(frozen=True)
class Probe:
    kind: str
    rep: str
    route: str
    user_page: bool = False  # only a logged-in user sees it (Kallithea's account and settings pages)
    fmt: str = ""

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.fmt}" if self.fmt else self.kind


def route_name(site_name: str, kind: str) -> str:
    return WIRE_ROUTES.get(kind) or ROUTE_NAMES.get(site_name, {}).get(kind, kind)


def probes(site) -> list[Probe]:
    """One probe per route kind the site adapter has (one per archive format), plus the wire protocol's heads."""
    out = []
    for kind in [*site.ROUTES, "wire_heads"]:
        if kind in NOT_PROBED or (kind != "wire_heads" and kind not in site.ROUTES):
            continue
        rep = REPS.get(kind, "html")
        user = kind in HOSTING_PAGES["user"]
        fmts = site.ARCHIVE_FORMATS if kind == "archive" else ("",)
        out += [Probe(kind, rep, route_name(site.name, kind), user, fmt) for fmt in fmts]
    return out


def preflight_probes(site) -> list[Probe]:
    """The probes a preflight is sent for: the first public route kind of each representation a script would
    want to send requests to, and an API."""
    seen, out = set(), []
    for p in probes(site):
        if (p.rep in PREFLIGHT_REPS and p.rep not in seen and not p.user_page) or p.kind == "api":
            seen.add(p.rep)
            out.append(p)
    return out


@dataclass
class Answer:
    path: str
    method: str
    status: int
    headers: object  # requests' case-insensitive headers
    set_cookies: list
    body: str


def probed_repo(plan) -> str:
    """The repository every probe visits: the smallest checked one (its archives cost least; the Kallithea page
    checks visit it too)."""
    return min(plan.checked, key=lambda n: (len(plan.repo(n)), n))


def path_for(target, plan, probe: Probe) -> str:
    site = target.site
    name = probed_repo(plan)
    repo = plan.repo(name)
    node = repo.hex(repo.revs_desc[0]) if repo.revs_desc else "tip"
    if probe.kind == "wire_heads":
        return site.repo_path(name) + "?cmd=heads"
    if probe.kind == "static":
        return site.route("static", name, path="style-paper.css")
    files = sorted(f for f, flag in repo.manifest(repo.revs_desc[0]).items()
                   if flag != "l" and f.isascii() and f.isprintable()) if repo.revs_desc else []
    path = "" if probe.kind == "manifest" else (files[0] if files else "")
    extra = {"diff1": node, "diff2": node} if probe.kind in ("file_diff", "file_diff_2way") else {}
    if probe.kind == "compare_revs":
        extra = {"rev2": node}
    if probe.kind == "nodelist":
        path = ""
    return site.route(probe.kind, name, rev=node, path=path, fmt=probe.fmt or None, **extra)


def send(session, target, path: str, method: str = "GET", headers: dict | None = None,
         body: bool = False) -> Answer:
    """One bounded request: its headers, and with `body` the first BODY_CAP bytes of its body (the rest is never
    read: an archive is not downloaded); a path that would reproduce a known defect of the site is not sent
    (KnownIssue)."""
    issue = url_issue(target, path)
    if issue is not None:
        raise KnownIssue(issue, path)
    with session.request(method, target.url_for(path), headers=headers, timeout=TIMEOUT, stream=True,
                         allow_redirects=False) as r:
        raw = r.raw.read(BODY_CAP, decode_content=True) if body else b""
        cookies = r.raw.headers.getlist("Set-Cookie") if hasattr(r.raw, "headers") else []
        return Answer(path, method, r.status_code, r.headers, cookies, raw.decode("utf-8", "replace"))


def request_headers(target, probe: Probe, preflight: bool = False) -> dict:
    headers = {"Origin": FOREIGN_ORIGIN}
    if probe.rep == "wire":
        headers.update(target.site.WIRE_HEADERS)
    if preflight:
        headers.update({"Access-Control-Request-Method": "POST",
                        "Access-Control-Request-Headers": "authorization, content-type"})
    return headers
