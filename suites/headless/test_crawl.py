"""Crawl the site from its root within a page budget (--crawl-pages / HGHARNESS_CRAWL_PAGES): no 5xx, no broken
link, no server traceback in any body, no same-host link leaving the site's base URL."""

from __future__ import annotations

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
    known = [p for p in result.problems if any(_matches(i, p) for i in issues)]
    problems = [p for p in result.problems if p not in known]
    assert not problems, (f"{len(problems)} problem(s) in {result.fetched} URLs: "
                          + "; ".join(map(str, problems[:8])))
    if known:
        ids = sorted({i["id"] + ": " + i["why"] for i in issues for p in known if _matches(i, p)})
        known_defect(target, f"known {target.site_name} issue ({'; '.join(ids)}) on {len(known)} link(s): {known[0]}")


def _matches(issue, problem) -> bool:
    return problem.kind == issue.get("problem") and urllib.parse.urlsplit(problem.url).path in issue.get("paths", ())
