"""Unknown repository, revision and file give 404 on every page kind that names one (not 200, not 500)."""

from __future__ import annotations

import pytest
from hgharness.suites.headless.http_checks import fetch
from hgharness.suites.headless.sitefacts import KnownIssue, fact
from hgharness.suites.headless.suite_plugin import parametrize

from hgharness.sites.base import KIND_NEEDS

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


def pytest_generate_tests(metafunc):
    from hgharness.suites.headless.plan import get_plan

    if "missing_case" not in metafunc.fixturenames:
        return
    plan = get_plan(metafunc.config)
    rows, ids = [], []
    if plan.error is None and plan.checked:
        repo = plan.checked[0]
        for kind in UNKNOWN_REPO:
            rows.append(("repository", kind, NO_REPO, "tip", "README"))
            ids.append(f"repository-{kind}")
        for kind in UNKNOWN_REV:
            for i, rev in enumerate(NO_REVS):
                rows.append(("revision", kind, repo, rev, "README"))
                ids.append(f"revision-{kind}-{repo}-{'name' if i == 0 else 'node'}")
        for kind in UNKNOWN_FILE:
            rows.append(("file", kind, repo, "tip", NO_FILE))
            ids.append(f"file-{kind}-{repo}")
    parametrize(metafunc, "missing_case", rows, ids)


def test_unknown_gives_404(target, http, plan, missing_case):
    what, kind, repo, rev, path = missing_case
    if kind not in target.site.ROUTES:
        pytest.skip(f"site {target.site_name!r} has no page kind {kind!r}")
    needs = KIND_NEEDS.get(kind)
    if needs and not target.can(needs):
        pytest.skip(f"needs {needs!r}: switched off for this target")
    if what == "revision" and plan.repo(repo).has_rev(rev):
        pytest.skip(f"{rev} names a revision of {repo}")
    route = _route(target.site, kind, repo, rev, path)
    # a known defect of the site for this kind and unknown thing (sitefacts "unknown"): not requested, xfail
    for issue in fact(target, "known_issues", []) or []:
        if kind in issue["kinds"] and what in issue.get("unknown", ()):
            raise KnownIssue(issue, route)
    fetch(http, target, route, expect=404,
          what=f"{kind} of an unknown {what} ({repo}, {rev}, {path})")
