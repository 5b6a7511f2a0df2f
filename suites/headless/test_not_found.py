"""Unknown repository, revision and file give 404 on every page kind that names one (not 200, not 500)."""

from __future__ import annotations

import pytest

from hgharness.sites.base import KIND_NEEDS
from hgharness.suites.support.http_checks import fetch
from hgharness.suites.support.known_issues import KnownIssue
from hgharness.suites.support.table import from_plan, skip_unless_routed

pytestmark = [pytest.mark.headless, pytest.mark.nondestructive]

NO_REPO = "no-such-repo-hgharness"
NO_REVS = ("no-such-rev-hgharness", "deadbeef" * 5)
NO_FILE = "no/such/file-hgharness.txt"

# kind -> what it needs to name: the tables below say which unknown thing each kind is tried with
UNKNOWN_REPO = ("summary", "log", "shortlog", "graph", "tags", "rev", "file", "raw_file", "json_log", "atom_log",
                "archive")
UNKNOWN_REV = ("rev", "raw_rev", "log_from", "manifest", "raw_file", "annotate", "diff", "comparison", "json_rev",
               "archive")
UNKNOWN_FILE = ("file", "raw_file", "annotate", "diff", "comparison", "filelog")


def _route(site, kind, repo, rev, path):
    kw = {"fmt": "zip"} if kind == "archive" else {}
    return site.route(kind, repo, rev=rev, path=path, **kw)


def missing_rows(plan) -> list:
    if not plan.checked:
        return []
    repo = plan.checked[0]
    rows = [pytest.param(("repository", kind, NO_REPO, "tip", "README"), id=f"repository-{kind}")
            for kind in UNKNOWN_REPO]
    rows += [pytest.param(("revision", kind, repo, rev, "README"), id=f"revision-{kind}-{repo}-{how}")
             for kind in UNKNOWN_REV for rev, how in zip(NO_REVS, ("name", "node"), strict=True)]
    rows += [pytest.param(("file", kind, repo, "tip", NO_FILE), id=f"file-{kind}-{repo}") for kind in UNKNOWN_FILE]
    return rows


@from_plan("missing_case", missing_rows)
def test_unknown_gives_404(target, http, plan, missing_case):
    what, kind, repo, rev, path = missing_case
    skip_unless_routed(target, kind)
    needs = KIND_NEEDS.get(kind)
    if needs and not target.can(needs):
        pytest.skip(f"needs {needs!r}: switched off for this target")
    if what == "revision" and plan.repo(repo).has_rev(rev):
        pytest.skip(f"{rev} names a revision of {repo}")
    route = _route(target.site, kind, repo, rev, path)
    # a known defect of the site for this kind and unknown thing (its "unknown"): not requested, xfail
    for issue in target.site.KNOWN_ISSUES:
        if kind in issue["kinds"] and what in issue.get("unknown", ()):
            raise KnownIssue(issue, route)
    fetch(http, target, route, expect=404,
          what=f"{kind} of an unknown {what} ({repo}, {rev}, {path})")
