"""The forms checks of #18 on the embedded Kallithea: no false alarm, and what they hold there (the raw patch,
the changeset and refs over the wire; Kallithea has one HTML form of each page and no JSON, raw or styled forms)."""

from __future__ import annotations

import pytest

from hgharness.suites.runner import run_pytest_stage
from tests import kallithea_helpers

kallithea, kallithea_target = kallithea_helpers.kallithea, kallithea_helpers.kallithea_target  # fixtures

pytestmark = [pytest.mark.kallithea, pytest.mark.integration, pytest.mark.xdist_group("kallithea")]


def test_every_form_agrees_on_kallithea(kallithea_target, tmp_path):
    stage = run_pytest_stage("kallithea-forms", ["suites/headless/test_representations.py"], kallithea_target,
                             tmp_path, progress=lambda m: None)
    failed = [f"{t['id']}: {t['message']}" for t in stage.tests if t["outcome"] in ("failed", "error")]
    assert stage.status == "passed", "\n".join(failed) or stage.detail
    ran = {t["id"].split("::")[-1].split("[")[0] for t in stage.tests if t["outcome"] == "passed"}
    assert {"test_changeset_in_every_form", "test_refs_in_every_form"} <= ran, stage.tests
