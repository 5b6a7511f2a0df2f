"""Provisioning a fixture set onto a remote target: push into empty repositories that exist on an hgweb server,
then prove through a fresh clone that the server holds exactly the set; bad credentials are a harness error."""

from __future__ import annotations

import pytest

from hgharness.errors import HarnessError
from hgharness.fixtures import sets
from hgharness.fixtures.provision import provision
from hgharness.secrets import Secret
from tests.conftest import hgweb, target_for


@pytest.fixture
def empty_server(tmp_path):
    """An embedded hgweb serving empty repositories named like the tiny set's (created server-side)."""
    from mercurial import hg

    from hgharness.hg import b, make_ui

    repos = tmp_path / "server-repos"
    repos.mkdir()
    for name in sets.SETS["tiny"]:
        hg.repository(make_ui(), b(str(repos / name)), create=True)
    with hgweb(repos) as server:
        yield server


@pytest.mark.integration
def test_provision_pushes_a_set_into_empty_repositories(empty_server, tmp_path):
    from hgharness.hg import clone, nodes, open_repo

    target = target_for(empty_server)
    results = provision(target, "tiny")
    assert [r["repo"] for r in results] == ["tiny"]
    assert results[0]["outcome"] == "pushed" and results[0]["pushed"] > 1
    local = open_repo(sets.build_cached("tiny") / "tiny")
    copy = clone(target, "tiny", tmp_path / "check")
    assert nodes(copy) and sorted(nodes(copy)) == sorted(nodes(local))
    assert dict(copy._bookmarks) == dict(local._bookmarks)
    assert {t for t in copy.tags()} == {t for t in local.tags()}
    # the same set again: nothing to push
    again = provision(target, "tiny")
    assert again[0]["outcome"] == "up to date" and again[0]["pushed"] == 0


@pytest.mark.integration
def test_provision_with_a_wrong_password_is_a_harness_error(empty_server):
    target = target_for(empty_server, password=Secret("wrong-password-123"))
    with pytest.raises(HarnessError) as e:
        provision(target, "tiny")
    assert "wrong-password-123" not in str(e.value)


def test_provision_needs_credentials_and_a_known_source(tmp_path):
    from hgharness.target import Target

    with pytest.raises(HarnessError, match="HGHARNESS_PASSWORD"):
        provision(Target(url="http://127.0.0.1:1/"), "tiny")
    target = Target(url="http://127.0.0.1:1/", username="u", password=Secret("p"))
    with pytest.raises(HarnessError, match="neither a fixture set"):
        provision(target, "no-such-set")
