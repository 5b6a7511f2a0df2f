"""The escaping checks against the embedded Kallithea 0.7.0: its changelog's labels (changelog_details, loaded
by the changelog page's script) write the paths of hostile files unescaped, which the check reports as the known
issue kallithea-changelog-details-unescaped-paths, and fails when known issues are to fail."""

import dataclasses

import pytest

from hgharness.suites.runner import run_pytest_stage
from tests import kallithea_helpers

kallithea, kallithea_target = kallithea_helpers.kallithea, kallithea_helpers.kallithea_target  # fixtures

pytestmark = [pytest.mark.kallithea, pytest.mark.integration, pytest.mark.xdist_group("kallithea")]

ROW = "suites/security/test_escaping.py::test_hostile_metadata_escaped[hostile-changesets]"


def test_unescaped_paths_in_changelog_labels_are_kallitheas_known_issue(kallithea_target, tmp_path):
    (tmp_path / "expect").mkdir()
    (tmp_path / "fail").mkdir()
    stage = run_pytest_stage("kallithea", [ROW], kallithea_target, tmp_path / "expect", progress=lambda m: None)
    known = [t for t in stage.tests if t.get("known_issue")]
    assert stage.exit_code == 0 and len(known) == 1, [(t["id"], t["outcome"], t["message"][:300]) for t in stage.tests]
    assert "kallithea-changelog-details-unescaped-paths" in known[0]["message"], known[0]["message"][:500]
    assert "changelog details" in known[0]["message"]

    strict = dataclasses.replace(kallithea_target, known_issues="fail")
    stage = run_pytest_stage("kallithea", [ROW], strict, tmp_path / "fail", progress=lambda m: None)
    failed = [t for t in stage.tests if t["outcome"] == "failed"]
    assert stage.exit_code == 1 and failed, [(t["id"], t["outcome"]) for t in stage.tests]
    assert "[known_issues = fail]" in failed[0]["message"]
    assert "kallithea-changelog-details-unescaped-paths" in failed[0]["message"]
