"""The oracles of test_kallithea_views (#18), and the changeset page's file counts, catch what no check before
them did: one broken Kallithea (tests/kallithea_broken.py: a proxy in front of the shared embedded Kallithea)
gets each of Kallithea's other views wrong in one way; every check from before passes against it, and each
defect fails the one check that holds that view to the fixture, naming it. The healthy site passes them all
(test_kallithea_target)."""

from __future__ import annotations

import pytest

from hgharness.suites.runner import run_pytest_stage
from tests import kallithea_helpers
from tests.headless_helpers import assert_only_these_caught
from tests.kallithea_broken import DEFECTS, broken_kallithea

kallithea, kallithea_target = kallithea_helpers.kallithea, kallithea_helpers.kallithea_target  # fixtures

pytestmark = [pytest.mark.kallithea, pytest.mark.integration, pytest.mark.xdist_group("kallithea")]

VIEWS = "suites/headless/test_kallithea_views.py"
# the checks from before that visit these views' routes or the same data in other forms: the changeset, file
# and repository pages, the hosting pages (raw diff, compare form), every form of a changeset, file and refs
OLD = ["suites/headless/" + f for f in ("test_pages.py", "test_repo_pages.py", "test_kallithea_pages.py",
                                        "test_representations.py", "test_data_forms.py")]
REPO = "small"  # one repository of the default set (merges, renames, binaries): CI time

# defect -> (the failing check's id part, a part of its message)
CAUGHT = {
    "children_drops_child": ("test_kallithea_view[changeset_children-", "changeset_children of"),
    "info_wrong_author": ("test_kallithea_view[changeset_info-", "wrong ['author']"),
    "changelog_details_miscounts": ("test_kallithea_view[changelog_details-", "changed"),
    "nodelist_drops_file": ("test_kallithea_view[nodelist-", "files missing"),
    "file_history_drops_changeset": ("test_kallithea_view[file_history-", "the fixture's filelog"),
    "file_authors_wrong_name": ("test_kallithea_view[file_authors-", "the file's history"),
    "switcher_drops_repository": ("test_kallithea_view[repo_switcher-", "does not list"),
    "download_drops_line": ("test_kallithea_view[download_rev-", "the fixture's"),
    "raw_changeset_drops_file": ("test_kallithea_view[raw_changeset-", "missing"),
    "compare_drops_changeset": ("test_kallithea_view[compare_revs-", "expected"),
    "file_diff_drops_line": ("test_kallithea_view[file_diff-", "file_diff of"),
    "two_way_loads_one_side_twice": ("test_kallithea_view[file_diff_2way-", "side 2 loads"),
    "files_root_links_elsewhere": ("test_kallithea_view[files_root-", "missing"),
    "summary_page_stale": ("test_kallithea_view[summary_page-", "latest changes"),
    "changeset_page_miscounts": ("test_revision_page[rev-", "counts its files"),
}


def test_only_the_view_oracles_catch_these_defects(kallithea, kallithea_target, tmp_path):
    assert sorted(CAUGHT) == sorted(DEFECTS)
    with broken_kallithea(kallithea, list(DEFECTS), repos=[REPO]) as target:
        (tmp_path / "run").mkdir()
        stage = run_pytest_stage("headless", [VIEWS, *OLD], target, tmp_path / "run", markers="nondestructive",
                                 progress=lambda msg: None)
    checks = {check for check, _ in CAUGHT.values()}
    assert_only_these_caught(stage, CAUGHT, lambda t: any(check in t["id"] for check in checks),
                             "the views' oracles")
