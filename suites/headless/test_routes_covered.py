"""Every page kind of the site adapter has a row in one of the check tables (a new kind without a check
fails here, so the tables cannot silently fall behind the adapter)."""

import pytest
from hgharness.suites.headless import (
    test_json_feeds,
    test_kallithea_pages,
    test_kallithea_pull_requests,
    test_pages,
    test_repo_pages,
)

pytestmark = [pytest.mark.smoke, pytest.mark.headless, pytest.mark.nondestructive]

# kinds checked outside the row tables: where
ELSEWHERE = {
    "index": "test_repo_pages.test_index_links_every_repository",
    "json_index": "test_json_feeds.test_json_index_lists_every_repository",
    "archive": "test_archives.test_archive_equals_manifest",
    "static": "test_crawl (stylesheets, scripts, images) and security/test_traversal",
}


def test_every_page_kind_has_a_check(target):
    covered = (set(test_pages.REV_ROWS) | set(test_pages.FILE_ROWS) | set(test_repo_pages.REPO_ROWS)
               | set(test_json_feeds.REPO_ROWS) | set(ELSEWHERE)
               # the Kallithea-only kinds: their own tables
               | set(test_kallithea_pages.KALLITHEA_ROWS) | set(test_kallithea_pull_requests.PULL_REQUEST_KINDS))
    missing = sorted(set(target.site.ROUTES) - covered)
    assert not missing, f"page kinds of site {target.site_name!r} without a check: {missing}"
