"""Known defects of the site software (the adapter's KNOWN_ISSUES): which request would only reproduce one, and
how a check stopped by one ends (an expected failure naming it, or a failure under known_issues = "fail")."""

from __future__ import annotations

import re
import urllib.parse


class KnownIssue(Exception):
    """A request would only reproduce a known defect of the site software: not sent.
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
    for issue in target.site.KNOWN_ISSUES:
        limit = issue.get("non_utf8_diff_bytes")
        if limit is not None and kind in issue.get("kinds", ()) and invalid_utf8 and text_bytes >= limit:
            return issue
    return None


def stale_feed_issue(target, kind: str) -> dict | None:
    """The known issue that makes the site serve a feed of `kind` (atom_log, rss_log) older than the repository."""
    kind = kind.replace("-", "_")
    return next((i for i in target.site.KNOWN_ISSUES if i.get("stale_feed") and kind in i.get("kinds", ())), None)


def url_issue(target, path: str) -> dict | None:
    """The known issue a request path (relative to the base URL) would trigger, if any."""
    plain = urllib.parse.unquote(path.split("?", 1)[0], errors="replace")
    for issue in target.site.KNOWN_ISSUES:
        if "url" in issue and re.search(issue["url"], "/" + plain.lstrip("/")):
            return issue
    return None


def wire_argument_issue(target, value: str) -> dict | None:
    """The known issue a wire-protocol argument would trigger (a non-ASCII one, on some sites), if any."""
    if value.isascii():
        return None
    return next((i for i in target.site.KNOWN_ISSUES if i.get("wire_non_ascii_args")), None)


def inline_type_issue(target, kind: str, content_type: str) -> dict | None:
    """The known issue that makes the site serve a page of `kind` inline as `content_type` (a type a browser runs
    as a document of the site's origin), if any."""
    ctype = content_type.split(";")[0].strip().lower()
    return next((i for i in target.site.KNOWN_ISSUES
                 if kind in i.get("kinds", ()) and ctype in i.get("inline_types", ())), None)
