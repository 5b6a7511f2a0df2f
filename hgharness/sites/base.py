"""The Site adapter interface. Suites, load profiles and fixtures build every URL through an adapter."""

from __future__ import annotations

import urllib.parse

# Capabilities a suite may need; a missing one is a named skip, never a silent one.
ALL_CAPABILITIES = (
    "browse",          # web pages for repositories, changesets, files
    "archives",        # downloadable tar/zip of a revision
    "json",            # JSON views of log, changesets, tags, branches, bookmarks
    "feeds",           # atom/rss
    "graph", "annotate", "search", "bookmarks",
    "push_auth",       # pushing over HTTP needs credentials
    "accounts",        # login, users
    "permissions",     # per-repository permissions, private repositories
    "forks", "pull_requests", "comments",
    "api",             # an API to create repositories, users...
    "create_repo",     # the harness can create repositories on the site
)

# Page kinds (Site.ROUTES keys) that need a capability beyond answering at all: what suites and load profiles
# check before requesting one. A kind not listed needs none (the index, the wire protocol's capabilities).
KIND_NEEDS = {
    **dict.fromkeys(("summary", "log", "log_from", "shortlog", "rev", "raw_rev", "manifest", "file", "raw_file",
                     "diff", "comparison", "filelog", "branches", "tags"), "browse"),
    **dict.fromkeys(("json_index", "json_log", "json_rev", "json_tags", "json_branches", "json_bookmarks"),
                    "json"),
    "atom_log": "feeds", "rss_log": "feeds", "archive": "archives", "graph": "graph", "annotate": "annotate",
    "search": "search", "bookmarks": "bookmarks",
}


def q(path: str) -> str:
    """Quote a repository-relative path for a URL (hostile names included)."""
    return urllib.parse.quote(path, safe="/")


class Site:
    name = "base"
    capabilities: frozenset[str] = frozenset()
    # page kinds: route name -> template; {repo}, {rev}, {path}, {fmt} are filled by route()
    ROUTES: dict[str, str] = {}
    # page kinds that render HTML meant for people (crawled, escaped-content checked)
    HTML_PAGES: tuple[str, ...] = ()

    # --- what the checks need to know beyond the routes (defaults: Mercurial's hgweb) ---
    PAGE_PARAM = "revcount"            # query parameter for the number of entries on a history page
    NUMBERED_PAGES = False             # history pages link the next page as ?page=N, not as a page from a node
    FULL_NODE_LINKS = False            # entries link full nodes only: a short-hash link is a hash in a description
    FEED_ENTRIES: int | None = None    # entries in an atom/rss feed (None: whatever the feed has)
    ARCHIVE_FORMATS: tuple[str, ...] = ("tar.gz", "zip", "tar.bz2")  # formats of the archive page kind
    ARCHIVE_META: str | None = None    # the one extra member an archive may carry; it must name the node
    DESC_BY_LINE = False               # a changeset page shows each description line in an element of its own
    REV_LINKS_FILES_AT_REV = True      # a changeset page links its files as of that changeset
    FILE_SHOWS_COPY_SOURCE = True      # a file page says which file it was copied or renamed from
    ANNOTATE_FOLLOWS_COPIES = True     # annotate credits lines to the changesets of a copy's source
    FILELOG_WHOLE_FILE = False         # a file's history lists every revision of the file, whatever the URL's REV
    NAME_THEN_NODE = True              # tag/branch/bookmark lists show each name, then its changeset
    # the same page in other forms, asked with ?STYLE_PARAM=NAME (hgweb's styles): None when the site has one form
    STYLE_PARAM: str | None = None
    HTML_STYLES: tuple[str, ...] = ()  # other HTML styles of every page (their data must agree with the default)
    DATA_STYLES: tuple[str, ...] = ()  # raw, json, atom, rss forms of pages, by the same parameter
    ARCHIVE_FILE_PARAM: str | None = None  # query parameter that limits an archive to one path (hgweb: file)
    FEED_LISTS_FILES = False           # a feed entry lists the files of its changeset
    FEED_MAX_FILES: int | None = None  # ... the first so many of them
    PATCH_GIT = False                  # raw patches are git diffs (copies and renames as such, not whole files)
    OWN_MARKUP: tuple[str, ...] = ()   # tags the templates put around metadata (escaping checks cannot tell apart)
    XHR_HEADERS: dict[str, str] = {}  # what the pages' scripts send with their requests (routes answering no other)
    WIRE_HEADERS = {"Accept": "application/mercurial-0.1"}  # what hg sends: some sites serve the protocol only so
    KNOWN_MISSING_RESOURCES: dict[str, str] = {}  # path part -> why: resources pages ask for that the site lacks
    # Defects of the site software found by the checks, reported as expected failures (xfail) naming them instead
    # of failing every run; anything else on the same pages still fails. Each: {"id", "kinds", "why"} and what
    # matches it: "span" (markup), "url" (request path), "problem"+"paths" (crawl), "payloads" (traversal),
    # "unknown" (not-found checks), "non_utf8_diff_bytes" (a diff's size over which the site stalls), "policy"
    # (rules of the response policy, suites/security/test_policy.py).
    KNOWN_ISSUES: tuple[dict, ...] = ()

    def can(self, capability: str) -> bool:
        if capability not in ALL_CAPABILITIES:
            raise ValueError(f"unknown capability {capability!r}")
        return capability in self.capabilities

    def route(self, kind: str, repo: str | None = None, rev: str | None = None, path: str | None = None,
              **params) -> str:
        """A path relative to the target's base URL for a page kind (no leading slash)."""
        try:
            template = self.ROUTES[kind]
        except KeyError:
            raise KeyError(f"site {self.name!r} has no page kind {kind!r}") from None
        fmt = params.pop("fmt", None)
        rev2 = params.pop("rev2", None)  # a second revision (a comparison of two)
        out = template.format(repo=q(repo or ""), rev=q(rev or ""), path=q(path or ""), fmt=fmt or "",
                              rev2=q(rev2 or ""))
        query = {k: v for k, v in params.items() if v is not None}
        if query:
            out += ("&" if "?" in out else "?") + urllib.parse.urlencode(query)
        return out

    def author_name(self, author: str) -> str:
        """An author ("Name <email>") as pages name it: the name part."""
        return author.split("<", 1)[0].strip() or author

    def rev_page_cut_off(self, text: str) -> bool:
        """Whether a changeset page (its text) says it lists only some of its files (a changeset too big)."""
        return False

    def rev_page_counts(self, source: str) -> dict[str, int] | None:
        """The counts of files a changeset page (its HTML source) gives apart from its list ({"removed", "changed", "added"}, or
        {"affected"} alone), or None if it gives none."""
        return None

    def file_page_cut_off(self, text: str) -> bool:
        """Whether a file or annotate page (its text) says the file is too big to show (a site's size limit)."""
        return False

    def index_listed(self, html: str) -> list[str] | None:
        """The repository names the index page lists, when not as links to them (None: read its links)."""
        return None

    def dates_shown(self, when: float, offset: int) -> list[str]:
        """How a changeset page may show a commit date (UTC seconds, offset west of UTC, as Mercurial stores
        it); the page must show one of them. Empty: the site's pages are not checked for dates."""
        return []

    def changeset_parents(self, http, target, repo: str, node: str) -> list[str] | None:
        """The parents (full hex) the site gives a changeset through a channel other than its page's links;
        None when the page's own links are what to check."""
        return None

    def annotate_line_nodes(self, html: str) -> list[str] | None:
        """The changeset (12 hex digits) an annotate page credits each line with, in line order; None when the
        site's markup is not known line by line (the checks then only look for every changeset somewhere)."""
        return None

    def repo_path(self, repo: str) -> str:
        """Path (relative to base) that Mercurial clones from."""
        return q(repo)

    # --- repositories on the site ---
    def list_repos(self, target, session) -> list[str]:
        raise NotImplementedError

    def create_repo(self, target, name: str, private: bool = False) -> None:
        raise NotImplementedError(f"site {self.name!r} cannot create repositories")


def index_refusal(target, response) -> str:
    """Why the repository index could not be read, in one line (credentials named when the site refused them)."""
    code = response.status_code
    if code in (401, 403) and target.has_credentials():
        return (f"the site refused the credentials of {target.username} (HTTP {code} from the index of "
                f"{target.url}): check the user name and HGHARNESS_PASSWORD")
    return f"cannot list repositories on {target.url}: HTTP {code} from the index"
