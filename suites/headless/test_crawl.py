"""Crawl the site from its root within a page budget (--crawl-pages / HGHARNESS_CRAWL_PAGES): no 5xx, no broken
link, no server traceback in any body, no same-host link leaving the site's base URL."""

from __future__ import annotations

import re
import urllib.parse

import pytest

from hgharness.suites.headless.crawler import budget, crawl
from hgharness.suites.support.http_checks import TIMEOUT
from hgharness.suites.support.known_issues import known_defect

pytestmark = [pytest.mark.headless, pytest.mark.nondestructive, pytest.mark.needs("browse")]


def test_crawl_from_root(target, http, pytestconfig, record_property):
    result = crawl(http, target, budget(pytestconfig), TIMEOUT)
    record_property("crawl", {"fetched": result.fetched, "pages": result.pages, "kinds": len(result.kinds),
                              "not_fetched_known_issue": result.known[:20]})
    print(f"crawled {result.fetched} URLs ({result.pages} HTML pages, {len(result.kinds)} kinds); "
          f"{len(result.known)} links not followed (known site issues)")
    assert result.fetched > 1, f"the crawler found no link to follow from {target.url}"
    issues = [i for i in target.site.KNOWN_ISSUES if "crawl" in i["kinds"]]
    known = [p for p in result.problems if any(_matches(i, p) and _confirmed(http, i, p) for i in issues)]
    problems = [p for p in result.problems if p not in known]
    assert not problems, (f"{len(problems)} problem(s) in {result.fetched} URLs: "
                          + "; ".join(map(str, problems[:8])))
    if known:
        ids = sorted({i["id"] + ": " + i["why"] for i in issues for p in known if _matches(i, p)})
        known_defect(target, f"known {target.site_name} issue ({'; '.join(ids)}) on {len(known)} link(s): {known[0]}")


def _matches(issue, problem) -> bool:
    """A problem is the known issue's: of its kind, and at one of its paths, or a link of its form (link_to) from a
    page of its form (link_from), their named groups equal (the same repository, revision and file)."""
    if problem.kind != issue.get("problem"):
        return False
    path = urllib.parse.urlsplit(problem.url).path
    if "link_to" not in issue:
        return path in issue.get("paths", ())
    to = re.search(issue["link_to"], urllib.parse.unquote(path))
    came = re.search(issue["link_from"], urllib.parse.unquote(urllib.parse.urlsplit(problem.ref).path))
    return bool(to and came and to.groupdict() == came.groupdict())


def _confirmed(http, issue, problem) -> bool:
    """A broken link of the known form is the known issue only where the file really is not at that revision: its
    file page (the link with raw-file/ or annotate/ made file/) answers 404 too. Otherwise it is a broken link like
    any other (a site whose annotate pages fail for files that are there is not this issue)."""
    if "link_to" not in issue:
        return True
    url = re.sub(r"/(?:raw-file|annotate)/", "/file/", problem.url, count=1)
    r = http.get(url, timeout=TIMEOUT, allow_redirects=False, stream=True)
    r.close()
    return r.status_code == 404
