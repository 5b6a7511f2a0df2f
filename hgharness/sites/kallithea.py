"""Kallithea 0.7.0: a hosting site with accounts, permissions, private repositories, forks, pull requests and a
JSON-RPC API. Its pages map onto the same page kinds as hgweb where they exist; Kallithea-only pages get their own.

Quirks worth knowing (see also hgharness/kallithea/):
- the wire protocol answers only requests with `Accept: application/mercurial-0.1` (what hg sends); without it
  `?cmd=capabilities` is the summary page, so checks send WIRE_HEADERS;
- no tags/branches/bookmarks pages (so no such page kinds): `refs` (JSON, for the ref switcher) lists all three;
- the changelog lists changesets in graph (topological) order, not revision order;
- annotate does not follow copies and renames (hgweb does): ANNOTATE_FOLLOWS_COPIES;
- the index's repository list is a JS data blob, not links (index_repo_names() reads it);
- the changelog page is also the graph; a file's history is `changelog/REV/PATH`;
- archives answer "Downloads disabled" until the repository's enable_downloads is set (update_repo);
- private repositories: anonymous users are redirected (302) to the login page, logged-in users without
  permission get 403; web pages need a session (form login with `_session_csrf_secret_token`), not basic auth,
  while the wire protocol takes basic auth only.
"""

from __future__ import annotations

import json
import re
import time

from hgharness.errors import HarnessError
from hgharness.sites.base import Site, index_refusal

ANONYMOUS = "default"  # Kallithea's user for anonymous visitors
LEVELS = ("none", "read", "write", "admin")


class KallitheaSite(Site):
    name = "kallithea"
    capabilities = frozenset({"browse", "archives", "feeds", "graph", "annotate", "bookmarks", "push_auth",
                              "accounts", "permissions", "forks", "pull_requests", "comments", "api",
                              "create_repo"})
    PAGE_PARAM = "size"  # changelog entries per page
    NUMBERED_PAGES = True  # ?page=N (the page size stays in the session)
    FULL_NODE_LINKS = True  # a short hash in a description is autolinked
    FEED_ENTRIES = 10  # rss_items_per_page in the generated config
    ARCHIVE_META = ".hg_archival.txt"
    ANNOTATE_FOLLOWS_COPIES = False
    OWN_MARKUP = ("<b>",)  # around the author, for one
    DESC_BY_LINE = True
    PATCH_GIT = True  # changeset-patch is `hg export --git`-like
    FILE_SHOWS_COPY_SOURCE = False
    FILELOG_WHOLE_FILE = True  # changelog/REV/PATH lists the whole filelog of PATH, newest first
    # resources every page asks for that stock Kallithea does not have (the browser flows do not fail on them)
    KNOWN_MISSING_RESOURCES = {"/css/none.": "0.7.0's style sheet names glyph fonts none.woff2/.woff/.ttf/.eot/.svg "
                                             "that it does not ship"}
    # Defects of Kallithea 0.7.0 found by the checks (the form: Site.KNOWN_ISSUES)
    KNOWN_ISSUES = (
        {"id": "kallithea-archive-unknown-revision-200", "kinds": ("archive",), "unknown": ("revision",),
         "why": "an archive of an unknown revision answers HTTP 200 with the text 'Unknown revision X' "
                "instead of 404 (files controller archivefile())"},
        {"id": "kallithea-filelog-unknown-file-redirect", "kinds": ("filelog",), "unknown": ("file",),
         "why": "the history of an unknown file (changelog/REV/PATH) logs a traceback and redirects (302) "
                "to the changelog instead of answering 404 (changelog controller index())"},
        {"id": "kallithea-changelog-unknown-revision-redirect", "kinds": ("log_from",), "unknown": ("revision",),
         "why": "the changelog up to an unknown revision (changelog/REV/) logs a traceback and redirects (302) "
                "to the whole changelog instead of answering 404 (changelog controller index())"},
        {"id": "kallithea-raw-patch-chardet-stall", "kinds": ("raw_rev",), "non_utf8_diff_bytes": 16384,
         "why": "a raw patch (changeset-patch/REV) whose diff holds text that is not valid UTF-8 makes "
                "safe_str() fall back to chardet.detect() over the whole patch: minutes of CPU for one "
                "request (195 s for the hostile fixture's root, whose invalid-utf8.txt sits next to a 64 KiB "
                "line), holding the GIL so that the whole site stalls meanwhile. Left unrequested when the "
                "diff has such text and over 16 KiB of it"},
        {"id": "kallithea-file-diff-missing-side-500", "kinds": ("file_diff",), "unknown": ("file",),
         "why": "a file diff (diff/PATH?diff1=..&diff2=..) where the file is missing on one side fails with "
                "TypeError: HTTP 500 with a traceback in the server log"},
        {"id": "kallithea-wire-non-ascii-argument-500", "kinds": ("wire",), "wire_non_ascii_args": True,
         "why": "a wire-protocol command whose argument holds a non-ASCII character (`lookup` of a tag, bookmark or "
                "branch named so: `hg pull -r NAME`) fails with HTTP 500: the Mercurial 5.8 wireprotoserver under "
                "Kallithea parses the X-HgArg headers with parse_qs, which raises UnicodeEncodeError ('ascii' codec) "
                "on Python 3.8; a traceback in the server log (seen by the refs-in-every-form check)"},
        {"id": "kallithea-raw-svg-inline", "kinds": ("raw_file",), "inline_types": ("image/svg+xml",),
         "why": "a raw .svg file (raw/REV/PATH) is served inline as image/svg+xml from the site's own origin, with "
                "no Content-Disposition: attachment, no CSP and no sandbox (files controller raw(): "
                "raw_mimetype_mapping shows images inline, SVG among them); an SVG holding a script runs it as a "
                "page of the site when opened (stored XSS by anyone who can push an .svg)"},
        {"id": "kallithea-feed-stale-after-push", "kinds": ("atom_log", "rss_log"), "stale_feed": True,
         "why": "the atom and rss feeds are cached in the beaker region long_term_file (a file store: it outlives "
                "a restart; expire 604800 s, 7 days, in the generated config) under the key (repository, feed "
                "kind) alone, and no push invalidates it (feed controller _feed(); the README cache beside it "
                "is keyed on the tip and does not lag): after a push a feed shows the history as of its first "
                "request for up to 7 days"},
        {"id": "kallithea-changelog-details-unescaped-paths", "kinds": ("changelog_details",),
         "span": r'(?s)<span class="(?:removed|changed|added)"[^>]*?title=".*?">(?:\d+|!)</span>',
         "why": "the changelog's labels of removed, changed and added files (changelog_details/REV, loaded into the "
                "changelog page by its script) list the paths unescaped in their title attribute "
                "(h.changed_tooltip returns a literal): a path holding '\"><img src=x onerror=...>' ends the "
                "attribute and becomes markup of the changelog page (stored XSS by anyone who can push a file "
                "so named)"},
        {"id": "kallithea-pages-frameable", "policy": ("framing",),
         "kinds": ("index", "summary", "log", "shortlog", "graph", "log_from", "rev", "manifest", "file", "annotate",
                   "filelog", "file_diff", "login", "register", "public_journal", "site_search", "forks", "followers",
                   "statistics", "compare", "pull_requests", "admin_repos", "my_account", "my_pull_requests",
                   "journal", "repo_create", "fork", "pull_request_new", "repo_settings", "repo_permissions",
                   "admin", "admin_users", "admin_settings", "admin_permissions", "file_diff_2way", "files_root",
                   "summary_page", "compare_revs"),
         "why": "no page sends X-Frame-Options or CSP frame-ancestors, and the pages hold forms that post: the "
                "login box on every page an anonymous visitor sees, the account, repository settings, "
                "permissions, fork and pull request forms of a logged-in user; any site can frame them "
                "(clickjacking)"},
    )

    def rev_page_cut_off(self, text: str) -> bool:
        """A changeset page over cut_off_limit says so and lists only the files before the cut (?fulldiff=1
        shows all, but takes minutes on the fixtures' big root changesets)."""
        return "too big and was cut off" in text

    def rev_page_counts(self, source: str) -> dict[str, int] | None:
        """Three labels by the changeset's branch: files removed, changed, added (against the first parent); past
        60 files touched (affected_files_cut_off, the changeset's own file list) each reads "!" with the title
        "Affected N files". A page cut off by its diff's size
        still gives them, and may list no file at all (when the first file's diff is itself over the limit)."""
        counts = {k.lower(): int(n) for k, n in
                  re.findall(r'class="label (?:deleted|changed|added)" title="(Removed|Changed|Added)">(\d+)<', source)}
        if len(counts) == 3:
            return {"removed": counts["removed"], "changed": counts["changed"], "added": counts["added"]}
        m = re.search(r'title="Affected (\d+) files">!<', source)
        return {"affected": int(m.group(1))} if m else None

    def file_page_cut_off(self, text: str) -> bool:
        """A file over cut_off_limit (256 KB by default) shows "File is too big to display." and a link to the raw
        file (its annotate page a link to ?fulldiff=1) instead of its lines."""
        return "File is too big to display." in text

    def changeset_parents(self, http, target, repo: str, node: str) -> list[str] | None:
        """The page loads its "Parent rev." link by XHR (changeset_parents, JSON results): what that gives."""
        r = http.get(target.url_for(f"{repo}/changeset_parents/{node}"), timeout=60, headers=self.XHR_HEADERS)
        if r.status_code != 200:
            raise AssertionError(f"changeset_parents of {node[:12]}: HTTP {r.status_code}")
        try:
            return [p["raw_id"] for p in r.json()["results"]]
        except (ValueError, KeyError, TypeError):
            raise AssertionError(f"changeset_parents of {node[:12]}: not the JSON the page expects "
                                 f"({r.text[:120]!r})") from None

    @staticmethod
    def dates_shown(when: float, offset: int) -> list[str]:
        """fmt_date(): "%Y-%m-%d %H:%M:%S" in the *server's* local time zone (vcs date_fromtimestamp drops the
        committer's offset), which a deployed site does not tell us: any zone from UTC-12 to UTC+14 in quarter
        hours (the embedded site runs in UTC, the first one)."""
        return [time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(when + minutes * 60))
                for minutes in sorted(range(-12 * 60, 14 * 60 + 1, 15), key=abs)]

    @staticmethod
    def author_name(author: str) -> str:
        """The author's name as pages show it (vcs.utils.author_name): with an '@' in it, the string without
        its email address and without '<' and '>'."""
        if "@" not in author:
            return author
        inner = author  # the email is looked for between the first '<' and the next '>', if any
        left = author.find("<") + 1
        if left and author.find(">", left) != -1:
            inner = author[left:author.find(">", left)]
        m = _EMAIL.search(inner)
        return author.replace(m.group(0) if m else "", "").replace("<", "").replace(">", "").strip()  # hgweb: "revision"
    # what the pages send with the requests they make by script: some routes answer nothing else (400, 404)
    XHR_HEADERS = {"X-Requested-With": "XMLHttpRequest", "X-Partial-XHR": "1", "Accept": "application/json"}
    ROUTES = {
        # kinds shared with hgweb
        "index": "",
        "summary": "{repo}",
        "log": "{repo}/changelog",
        "shortlog": "{repo}/changelog?size=10",
        "graph": "{repo}/changelog",  # the changelog draws the DAG
        "rev": "{repo}/changeset/{rev}",
        "raw_rev": "{repo}/changeset-patch/{rev}",
        "manifest": "{repo}/files/{rev}/{path}",
        "file": "{repo}/files/{rev}/{path}",
        "raw_file": "{repo}/raw/{rev}/{path}",
        "annotate": "{repo}/annotate/{rev}/{path}",
        "filelog": "{repo}/changelog/{rev}/{path}",
        "log_from": "{repo}/changelog/{rev}/",  # the changelog up to REV (no path): revisions <= REV, newest first
        "archive": "{repo}/archive/{rev}.{fmt}",
        "atom_log": "{repo}/feed/atom",
        "rss_log": "{repo}/feed/rss",
        "capabilities": "{repo}?cmd=capabilities",
        # Kallithea-only kinds
        "refs": "{repo}/refs-data",
        "download_file": "{repo}/rawfile/{rev}/{path}",
        "raw_diff": "{repo}/changeset-diff/{rev}",
        "file_diff": "{repo}/diff/{path}",  # with diff1=REV&diff2=REV
        "file_diff_2way": "{repo}/diff-2way/{path}",  # with diff1=REV&diff2=REV: loads both raw files by XHR
        "files_root": "{repo}/files/{rev}",  # the tree's root without a path (files_home_nopath)
        "summary_page": "{repo}/summary",  # the summary under its own name (summary_home_summary)
        "download_rev": "{repo}/changeset-download/{rev}",  # the changeset's diff as an attachment
        "raw_changeset": "{repo}/raw-changeset/{rev}",  # the old name of changeset-raw (raw_changeset_home_depraced)
        "compare_revs": "{repo}/compare/rev@{rev}...rev@{rev2}",  # what REV2 has that REV has not
        # what the pages load by XHR
        "changeset_children": "{repo}/changeset_children/{rev}",
        "changeset_info": "changeset_info/{repo}/{rev}",
        "changelog_details": "{repo}/changelog_details/{rev}",  # the changelog's removed/changed/added labels
        "nodelist": "{repo}/nodelist/{rev}/{path}",  # every file and directory under PATH (the file finder)
        "file_history": "{repo}/history/{rev}/{path}",  # the file page's history selector
        "file_authors": "{repo}/authors/{rev}/{path}",  # the file page's authors box
        "repo_switcher": "_repos",  # the repository switcher's list
        "login": "_admin/login",
        "logout": "_admin/logout",
        "register": "_admin/register",
        "my_account": "_admin/my_account",
        "my_pull_requests": "my_pullrequests",
        "repo_create": "_admin/create_repository",
        "repos_post": "_admin/repos",  # the create-repository form posts here
        "repo_settings": "{repo}/settings",
        "repo_permissions": "{repo}/settings/permissions",
        "fork": "{repo}/fork",
        "forks": "{repo}/forks",
        "followers": "{repo}/followers",
        "statistics": "{repo}/statistics",
        "compare": "{repo}/compare",
        "pull_requests": "{repo}/pull-request",
        "pull_request_new": "{repo}/pull-request/new",
        "pull_request": "{repo}/pull-request/{rev}",  # rev = the pull request id
        "pull_request_comment": "{repo}/pull-request-comment/{rev}",
        "changeset_comment": "{repo}/changeset-comment/{rev}",
        "admin": "_admin",
        "admin_repos": "_admin/repos",
        "admin_users": "_admin/users",
        "admin_settings": "_admin/settings",
        "admin_permissions": "_admin/permissions",
        "journal": "_admin/journal",
        "public_journal": "_admin/public_journal",
        "site_search": "_admin/search",
        "api": "_admin/api",
    }
    HTML_PAGES = ("index", "summary", "log", "shortlog", "rev", "manifest", "file", "annotate", "filelog",
                  "login", "forks", "followers", "pull_requests", "compare", "statistics", "public_journal")

    def route(self, kind: str, repo: str | None = None, rev: str | None = None, path: str | None = None,
              **params) -> str:
        # hgweb's page size parameter is revcount; Kallithea's changelog calls it size
        if "revcount" in params:
            params["size"] = params.pop("revcount")
        if kind == "shortlog" and params.get("size") is not None:  # not size twice
            kind = "log"  # shortlog is the changelog with size=10: an explicit size replaces it
        return super().route(kind, repo, rev=rev, path=path, **params)

    @staticmethod
    def index_listed(html: str) -> list[str]:
        """Repository names the index page lists (script data, not links)."""
        return index_repo_names(html)

    def list_repos(self, target, session) -> list[str]:
        """Repository names: from the API when the target has an API key, else from the index page's data."""
        if target.api_key:
            from hgharness.kallithea_api import KallitheaAPI

            return sorted(r["repo_name"] for r in KallitheaAPI.for_target(target).get_repos())
        r = session.get(target.url_for(self.route("index")), timeout=30)
        if r.status_code != 200:
            raise HarnessError(index_refusal(target, r))
        return index_repo_names(r.text)

    # --- state on the site, through the API (needs target.api_key, an admin's key) ---
    def api(self, target):
        from hgharness.kallithea_api import KallitheaAPI

        return KallitheaAPI.for_target(target)

    def web(self, target, session=None):
        """A web session (logged out; .login(user, password)) for pages that need a logged-in user."""
        from hgharness.kallithea.web import KallitheaWeb

        return KallitheaWeb(target, session)

    def create_repo(self, target, name: str, private: bool = False, owner: str | None = None) -> None:
        self.api(target).create_repo(name, owner=owner or target.username, private=private, enable_downloads=True)

    def delete_repo(self, target, name: str) -> None:
        self.api(target).delete_repo(name)

    def create_user(self, target, name: str, password) -> None:
        self.api(target).create_user(name, password)

    def delete_user(self, target, name: str) -> None:
        self.api(target).delete_user(name)

    def set_public(self, target, repo: str, public: bool) -> None:
        api = self.api(target)
        api.make_public(repo) if public else api.set_private(repo, True)

    def grant(self, target, repo: str, user: str | None, level: str) -> None:
        """level: none | read | write | admin; user None means anonymous visitors."""
        self.api(target).grant_user_permission(repo, user or ANONYMOUS, f"repository.{level}")

    def revoke(self, target, repo: str, user: str) -> None:
        self.api(target).revoke_user_permission(repo, user)

    @staticmethod
    def expected_level(access: dict, user: str | None) -> str:
        """The level a user should have, from access(): Kallithea gives a logged-in user the higher of their own
        permission and the anonymous one (which private repositories do not pass on); owners are admins."""
        if user is None:
            return access["anonymous"]
        if user == access["owner"]:
            return "admin"
        inherited = "none" if access["private"] else access["anonymous"]
        return max(inherited, access["users"].get(user, "none"), key=LEVELS.index)

    def access(self, target, repo: str) -> dict:
        """What the site says: {"private": bool, "anonymous": level, "owner": name, "users": {name: level}}."""
        info = self.api(target).get_repo(repo)
        levels = {m["name"]: m["permission"].split(".", 1)[1] for m in info.get("members", [])
                  if m.get("type") == "user"}
        levels.setdefault(info.get("owner"), "admin")  # the owner is an implicit admin, not a listed member
        return {"private": bool(info.get("private")), "anonymous": levels.pop(ANONYMOUS, "none"),
                "owner": info.get("owner"), "users": levels,
                "tip": (info.get("last_changeset") or {}).get("raw_id")}


_EMAIL = re.compile(r"[\w.+-]+@[\w.-]+")  # close to Kallithea's email_re for the fixtures' addresses
_INDEX_DATA = re.compile(r"var data = \((\{.*?\})\);\s*$", re.M | re.S)


def index_repo_names(html: str) -> list[str]:
    """The repository list Kallithea's index embeds as a JS object (JSON with \\xNN escapes)."""
    m = _INDEX_DATA.search(html)
    if not m:
        raise HarnessError("cannot list repositories: the index page has no repository data (not Kallithea 0.7?)")
    text = re.sub(r"\\x([0-9a-fA-F]{2})", r"\\u00\1", m.group(1))
    try:
        records = json.loads(text)["records"]
    except (ValueError, KeyError):
        raise HarnessError("cannot list repositories: the index page's repository data is not JSON") from None
    return sorted(r["raw_name"] for r in records)
