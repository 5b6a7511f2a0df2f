"""Mercurial's own hgweb / hgwebdir (paper style): browse, JSON, feeds, archives, wire protocol."""

from __future__ import annotations

import json
import re
import time

from hgharness.errors import HarnessError
from hgharness.sites.base import Site, index_refusal

_ANNOTATE_ROW = re.compile(r'<tr id="l(\d+)"[^>]*>(.*?)</tr>', re.S)
_NODE_LINK = re.compile(r'href="[^"]*/(?:annotate|rev)/([0-9a-f]{12,40})[/"#]')


class HgwebSite(Site):
    name = "hgweb"
    capabilities = frozenset({"browse", "archives", "json", "feeds", "graph", "annotate", "search", "bookmarks",
                              "push_auth"})
    ROUTES = {
        "index": "",
        "summary": "{repo}/",  # the repository front page (paper has no summary view)
        "log": "{repo}/log",
        "log_from": "{repo}/log/{rev}",
        "shortlog": "{repo}/shortlog",
        "graph": "{repo}/graph",
        "rev": "{repo}/rev/{rev}",
        "raw_rev": "{repo}/raw-rev/{rev}",
        "manifest": "{repo}/file/{rev}/{path}",
        "file": "{repo}/file/{rev}/{path}",
        "raw_file": "{repo}/raw-file/{rev}/{path}",
        "annotate": "{repo}/annotate/{rev}/{path}",
        "diff": "{repo}/diff/{rev}/{path}",
        "comparison": "{repo}/comparison/{rev}/{path}",
        "filelog": "{repo}/log/{rev}/{path}",
        "archive": "{repo}/archive/{rev}.{fmt}",
        "branches": "{repo}/branches",
        "tags": "{repo}/tags",
        "bookmarks": "{repo}/bookmarks",
        "search": "{repo}/log?rev={rev}",  # rev=<keywords or revset>
        "json_log": "{repo}/json-log",
        "json_rev": "{repo}/json-rev/{rev}",
        "json_tags": "{repo}/json-tags",
        "json_branches": "{repo}/json-branches",
        "json_bookmarks": "{repo}/json-bookmarks",
        "json_index": "?style=json",
        "atom_log": "{repo}/atom-log",
        "rss_log": "{repo}/rss-log",
        "capabilities": "{repo}?cmd=capabilities",
        "static": "{repo}/static/{path}",  # the style's static files (CSS, JS, images)
    }
    HTML_PAGES = ("index", "summary", "log", "shortlog", "graph", "rev", "manifest", "file", "annotate", "diff",
                  "comparison", "filelog", "branches", "tags", "bookmarks", "search")
    FEED_ENTRIES = 10  # [web] maxchanges
    STYLE_PARAM = "style"
    HTML_STYLES = ("coal", "gitweb", "monoblue", "spartan")  # paper is the default
    DATA_STYLES = ("raw", "json", "atom", "rss")
    ARCHIVE_FILE_PARAM = "file"
    FEED_LISTS_FILES = True
    FEED_MAX_FILES = 10  # [web] maxfiles
    ARCHIVE_META = ".hg_archival.txt"
    KNOWN_ISSUES = (
        {"id": "hgweb-filelog-feed-title-xss", "kinds": ("filelog",),
         "span": r'<link rel="alternate" type="application/(?:atom|rss)\+xml"\s*href="[^"\n]*" '
                 r'title="(?:Atom|RSS) feed for [^\n]*" />',
         "why": "STORED XSS: paper/filelog.tmpl puts the file name unescaped in the title attribute of its "
                "atom/rss <link> elements (title=\"Atom feed for {repo|escape}:{file}\"); a name holding "
                "'\"><img src=x onerror=...>' ends the attribute and the element and injects markup"},
        {"id": "hgweb-raw-file-non-ascii-name-500", "kinds": ("raw_file",),
         "url": r"/raw-file/[^/]+/(?:[^/]*/)*[^/]*[^\x00-\x7f][^/]*$",
         "why": "raw-file names the file in its Content-Disposition header; a non-ASCII name makes "
                "sendresponse() fail (pycompat.strurl: UnicodeDecodeError): HTTP 500 with a traceback "
                "in the server log (Mercurial 7.2.4)"},
        {"id": "hgweb-colon-in-revision-name-404", "kinds": ("crawl",),
         "url": r"/(?:rev|raw-rev|shortlog|log|graph|file|archive)/[^/]*:",
         "why": "hgweb's changectx() drops a revision name up to its first ':' (the old REV:NODE form), so "
                "its own links to a tag or bookmark holding ':' (a name Mercurial refuses to create) give 404"},
        {"id": "hgweb-filelog-raw-link-file-not-at-rev", "kinds": ("crawl",), "problem": "broken-link",
         "link_from": r"^(?P<repo>.*)/(?:log|filelog)/(?P<rev>[^/]+)/(?P<path>.+)$",
         "link_to": r"^(?P<repo>.*)/raw-file/(?P<rev>[^/]+)/(?P<path>.+)$",
         "why": "the history of a file at a revision that does not hold it (log/tip/PATH after a push of another "
                "branch made tip a changeset without PATH) shows the file's history up to that revision, and its "
                "'raw' link points at raw-file/REV/PATH, which answers 404 (paper/filelog.tmpl links {symrev})"},
        {"id": "hgweb-annotate-parent-link-copy-source", "kinds": ("crawl",), "problem": "broken-link",
         "link_from": r"^(?P<repo>.*)/annotate/[^/]+/(?P<path>.+)$",
         "link_to": r"^(?P<repo>.*)/annotate/[^/]+/(?P<path>.+)$",
         "why": "annotate's 'parents:' link of a line credited to a copied file revision points at the copy "
                "source's changeset under the copy's own name (annotate/SOURCE-REV/COPY-PATH), which answers 404 "
                "where that changeset has no such file: webcommands.annotate gives the template each parent's node "
                "and rev but not its path, so paper's annotateparent falls back to the line's {file} (Mercurial "
                "7.2.4)"},
        {"id": "hgweb-breadcrumb-root-link", "kinds": ("crawl",), "problem": "leaves-prefix", "paths": ("/",),
         "why": "the paper templates hard-code the breadcrumb link <a href=\"/\">Mercurial</a>, which leaves a "
                "site served under a path prefix"},
        {"id": "hgweb-wire-non-ascii-argument-500", "kinds": ("wire",), "wire_non_ascii_args": True,
         "why": "a wire-protocol command whose argument holds a non-ASCII character (`lookup` of a tag, bookmark or "
                "branch named so, as `hg pull -r NAME` sends) fails with HTTP 500: wireprotoserver._args() parses "
                "the X-HgArg headers with urllib's parse_qs on bytes, which percent-decodes as UTF-8 and then "
                "encodes the result as ASCII (UnicodeEncodeError); a traceback in the server log (Mercurial "
                "7.2.4, seen by the refs-in-every-form check)"},
        {"id": "hgweb-static-unsafe-path-500", "kinds": ("static",),
         "payloads": ("dotdot", "encoded", "encoded-slash", "nul", "nul-suffix", "sibling-hg", "server-config",
                      "dots-slashes"),
         "why": "a '..' or empty segment under static/ makes staticfile() return without a body and "
                "sendresponse() raise ProgrammingError('response body not defined'): HTTP 500 with a "
                "traceback in the server log, no file leaked (checked by hand on Mercurial 7.2.4)"},
        {"id": "hgweb-nul-after-dotdot-500", "kinds": ("raw_file", "file", "annotate"),
         "payloads": ("nul-suffix",),
         "why": "a path that leaves the repository and holds a NUL reaches os.path.samefile() in the path "
                "auditor, which raises ValueError('embedded null character'): HTTP 500 with a traceback, "
                "no file leaked (checked by hand on Mercurial 7.2.4)"},
    )

    def dates_shown(self, when: float, offset: int) -> list[str]:
        """The committer's local time and offset: templates' `date|rfc822date`."""
        local = time.gmtime(when - offset)
        sign = "-" if offset > 0 else "+"  # Mercurial's offset counts seconds west of UTC
        hours, minutes = divmod(abs(offset) // 60, 60)
        return [time.strftime("%a, %d %b %Y %H:%M:%S", local) + f" {sign}{hours:02d}{minutes:02d}"]

    def annotate_line_nodes(self, html: str) -> list[str] | None:
        """paper's annotate: one <tr id="lN"> per line, whose first annotate/rev link names the changeset."""
        out = []
        for row in _ANNOTATE_ROW.finditer(html):
            link = _NODE_LINK.search(row.group(2))
            out.append(link.group(1)[:12] if link else "")
        return out or None

    def route(self, kind, repo=None, rev=None, path=None, **params) -> str:
        if rev is not None and kind != "search":
            # hgweb's revescape: a '/' in a revision name in a path (bookmark feature/x) travels as %252F
            rev = rev.replace("/", "%2F")
        return super().route(kind, repo, rev=rev, path=path, **params)

    def list_repos(self, target, session) -> list[str]:
        """Repository names from hgwebdir's JSON index."""
        r = session.get(target.url_for(self.route("json_index")), timeout=30)
        if r.status_code != 200:
            raise HarnessError(index_refusal(target, r))
        try:
            entries = json.loads(r.text).get("entries", [])
        except ValueError:
            raise HarnessError(f"cannot list repositories on {target.url}: the index is not hgweb JSON") from None
        return [e["name"].strip("/") for e in entries]

    def create_repo(self, target, name: str, private: bool = False) -> None:
        raise HarnessError("hgweb cannot create repositories over HTTP: create them on the server "
                           "(the embedded target serves the fixture set)")
