"""The oracles of test_representations (#18) catch what no check before them did: each broken target of
tests/coverage_broken.py gets one form of the data wrong; the checks that existed before (the default forms'
tables, the wire checks, archives, smoke) all pass against it, and the new check fails naming the form."""

from __future__ import annotations

import pytest

from tests.conftest import hgweb, target_for
from tests.headless_helpers import assert_only_these_caught, build_suite_repos

pytestmark = [pytest.mark.integration]

NEW = ["suites/headless/test_representations.py", "suites/headless/test_data_forms.py"]
OLD = ["suites/headless/" + f for f in ("test_pages.py", "test_json_feeds.py", "test_repo_pages.py",
                                        "test_wire.py", "test_archives.py", "test_smoke.py")]

# defect -> (the failing check's id part, a part of its message)
DEFECTS = {
    "gitweb_rev_other_file": ("test_changeset_in_every_form[", "gitweb page lists files"),
    "raw_rev_truncated_diff": ("test_changeset_in_every_form[", "raw patch: diff of"),
    "json_rev_diff_drops_line": ("test_changeset_in_every_form[", "json-rev: diff of"),
    "atom_entry_drops_file": ("test_changeset_in_every_form[", "atom_log entry lists files"),
    "getbundle_ignores_common": ("test_changeset_in_every_form[", "getbundle of it alone brings"),
    "lookup_tag_wrong_node": ("test_refs_in_every_form[", "(tag) answers"),
    "archive_ignores_file_filter": ("test_file_in_every_form[", "the archive of it alone holds"),
    "raw_tags_wrong_node": ("test_refs_in_every_form[", "raw tags:"),
    "gitweb_file_drops_line": ("test_file_in_every_form[", "gitweb file page lacks line"),
    "gitweb_shortlog_skips_entry": ("test_history_in_every_form[", "gitweb shortlog lists"),
}


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    """seed `demo`, the hostile repository and `scratch` (left out of the content checks); read-only."""
    return build_suite_repos(tmp_path_factory.mktemp("coverage-set") / "repos")


def run(server, run_dir, paths):
    from hgharness.suites.runner import run_pytest_stage

    run_dir.mkdir(parents=True, exist_ok=True)
    return run_pytest_stage("headless", paths, target_for(server), run_dir, markers="nondestructive",
                            progress=lambda msg: None)


def test_only_the_new_oracles_catch_these_defects(repos, tmp_path):
    """One target with every defect of tests/coverage_broken.py (each touches its own requests only): every check
    from before passes against it, and the new checks fail naming each defect's form. One run for all: a run per
    defect cost 45-55 s each on a loaded 2-core machine."""
    from tests.coverage_broken import DEFECTS as WRAPS
    from tests.coverage_broken_forms import EXPECTED, FORMS

    assert sorted(WRAPS) == sorted(DEFECTS) and sorted(FORMS) == sorted(EXPECTED)
    expected = {**DEFECTS, **EXPECTED}
    with hgweb(repos, wrap="tests.coverage_broken:every_defect") as server:
        stage = run(server, tmp_path / "run", [*NEW, *OLD])
    assert_only_these_caught(stage, expected, lambda t: any(n.rsplit("/", 1)[1] in t["id"] for n in NEW),
                             "the new oracles")


def test_healthy_target_passes_every_form(repos, tmp_path):
    with hgweb(repos) as server:
        stage = run(server, tmp_path / "run", NEW)
    assert stage.exit_code == 0, f"healthy target: {stage.detail}; " + "; ".join(
        f"{t['id']}: {(t['message'] or '')[:200]}" for t in stage.tests if t["outcome"] == "failed")
    assert stage.counts["passed"] >= 10, stage.counts  # 2 changesets, 1 file, history, refs of demo and hostile
