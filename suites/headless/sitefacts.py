"""What the checks need to know about a site flavour beyond its routes (keyed by site name, so another adapter
adds a row here, or the attribute on its Site class, instead of touching the checks)."""

from __future__ import annotations

import re
import urllib.parse

FACTS = {
    "hgweb": {
        "page_param": "revcount",   # query parameter for the number of log entries on a page
        "feed_entries": 10,         # [web] maxchanges: entries in atom/rss feeds
        "archive_meta": ".hg_archival.txt",  # extra member an archive may carry (must name the node)
        # Defects of the site software itself, found by these checks, reported as expected failures (xfail)
        # with their reason instead of failing every run; anything else on the same pages still fails.
        "known_issues": [
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
            {"id": "hgweb-breadcrumb-root-link", "kinds": ("crawl",), "problem": "leaves-prefix", "paths": ("/",),
             "why": "the paper templates hard-code the breadcrumb link <a href=\"/\">Mercurial</a>, which leaves a "
                    "site served under a path prefix"},
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
        ],
    },
    "kallithea": {
        # Defects of Kallithea 0.7.0 found by these checks (see the hgweb rows above for the form). "unknown":
        # the unknown thing (repository, revision, file) test_not_found names for which the kind misbehaves.
        "known_issues": [
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
        ],
    },
}


def fact(target, name: str, default=None):
    value = getattr(target.site, name.upper(), None)
    if value is not None:
        return value
    return FACTS.get(target.site_name, {}).get(name, default)


class KnownIssue(Exception):
    """A request would only reproduce a known defect of the site software (listed in FACTS): not sent.
    The checks report it as an expected failure (xfail) naming the issue."""

    def __init__(self, issue: dict, path: str):
        super().__init__(f"known {issue['id']}: {issue['why']} (not requested: /{path[:120]})")
        self.issue, self.path = issue, path


def known_defect(target, message: str):
    """End a check stopped by known defects of the site software: an expected failure (reported apart, in the
    report's findings), or a failure when the target's policy is known_issues = "fail"."""
    import pytest

    if getattr(target, "known_issues", "expect") == "fail":
        pytest.fail(f"[known_issues = fail] {message}")
    pytest.xfail(message)


def diff_issue(target, kind: str, text_bytes: int, invalid_utf8: bool) -> dict | None:
    """The known issue a page of a changeset with this much diff text (some not valid UTF-8) would trigger."""
    for issue in fact(target, "known_issues", []) or []:
        limit = issue.get("non_utf8_diff_bytes")
        if limit is not None and kind in issue.get("kinds", ()) and invalid_utf8 and text_bytes >= limit:
            return issue
    return None


def url_issue(target, path: str) -> dict | None:
    """The known issue a request path (relative to the base URL) would trigger, if any."""
    plain = urllib.parse.unquote(path.split("?", 1)[0], errors="replace")
    for issue in fact(target, "known_issues", []) or []:
        if "url" in issue and re.search(issue["url"], "/" + plain.lstrip("/")):
            return issue
    return None
