"""Load on Kallithea: the same users through the Kallithea adapter, and the ApiClient calling its JSON-RPC API."""

import dataclasses

import pytest

from hgharness.load.runner import LoadSpec, run_load
from hgharness.secrets import Secret
from tests import kallithea_helpers
from tests.load_helpers import load_json

kallithea, kallithea_target = kallithea_helpers.kallithea, kallithea_helpers.kallithea_target  # fixtures

pytestmark = [pytest.mark.load, pytest.mark.kallithea, pytest.mark.integration]


def _run(target, run_dir):
    run_dir.mkdir()
    stage = run_load(target, run_dir, LoadSpec(mix="ci-polling", users=6, spawn_rate=6, duration_s=6),
                     progress=lambda m: None)
    return stage, load_json(run_dir / "load-result.json")["actions"]


def test_api_client_calls_the_kallithea_api(kallithea_target, tmp_path):
    stage, actions = _run(kallithea_target, tmp_path / "good")
    api = {k: v for k, v in actions.items() if k.startswith("api_")}
    assert api and sum(v["count"] for v in api.values()) > 0, actions
    assert all(v["failures"] == 0 for v in actions.values()), actions
    assert stage.exit_code != 2, stage.detail  # the gates' verdict on a busy box is not this test's point
    # a JSON-RPC error comes with HTTP 200: the user must still count it as a failure (a wrong key: all fail)
    wrong_key = dataclasses.replace(kallithea_target, api_key=Secret("not-a-valid-api-key"))
    _, actions = _run(wrong_key, tmp_path / "bad")
    api = {k: v for k, v in actions.items() if k.startswith("api_")}
    assert api and all(v["failures"] == v["count"] > 0 for v in api.values()), api
