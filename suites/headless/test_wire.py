"""The wire protocol: heads, branch map, bookmarks, lookup and `known` match the fixture (a clone's hashes are compared by
test_smoke); a push is seen by a pull from another clone; push permissions follow the target's policy.

Pushes go to the push repository only (see suites/support/plan.py): its history changes, so the content
checks leave it out.
"""

from __future__ import annotations

from contextlib import closing

import pytest

from hgharness.suites.headless import freshness, wire
from hgharness.suites.support import pagetext
from hgharness.suites.support.http_checks import page
from hgharness.suites.support.table import from_plan

pytestmark = [pytest.mark.headless]


def repo_rows(plan) -> list:
    return [pytest.param(name, id=name) for name in plan.checked]


@from_plan("wire_repo", repo_rows)
@pytest.mark.nondestructive
def test_heads_and_bookmarks_match_fixture(target, plan, wire_repo):
    """What a clone or pull negotiates from (a clone's hashes: test_smoke.test_clone_has_every_changeset)."""
    repo = plan.repo(wire_repo)
    with closing(wire.peer(target, wire_repo)) as remote:
        heads = sorted(h.hex() for h in remote.heads())
        bookmarks = {k.decode(): v.decode() for k, v in remote.listkeys(b"bookmarks").items()}
        branchmap = {name: sorted(nodes) for name, nodes in remote.branchmap().items()}
    # `hg pull -b NAME` and push's new-head check read the branch map: every branch with every head
    local = repo.repo.branchmap()
    want_map = {name: sorted(local.branchheads(name, closed=True)) for name in local}
    if branchmap != want_map:
        diff = sorted(n.decode("utf-8", "replace") for n in set(branchmap) ^ set(want_map)) or sorted(
            n.decode("utf-8", "replace") for n in want_map if branchmap.get(n) != want_map[n])
        raise AssertionError(f"{wire_repo}: remote branch map differs from the fixture's for branch(es) {diff[:5]}")
    want = sorted(h.hex() for h in repo.repo.heads())
    assert heads == want, f"{wire_repo}: remote heads {[h[:12] for h in heads]} != fixture {[h[:12] for h in want]}"
    assert bookmarks == repo.bookmarks(), f"{wire_repo}: remote bookmarks {bookmarks} != {repo.bookmarks()}"


@from_plan("wire_repo", repo_rows)
@pytest.mark.nondestructive
def test_lookup_and_known(target, plan, wire_repo):
    repo = plan.repo(wire_repo)
    with closing(wire.peer(target, wire_repo)) as remote:
        tip = remote.lookup(b"tip").hex()
        want = repo.hex(repo.revs_desc[0]) if repo.revs_desc else "0" * 40  # an empty repository: the null node
        assert tip == want, f"{wire_repo}: remote tip {tip[:12]} != fixture tip {want[:12]}"
        nodes = [repo.ctx(s.rev).node() for s in plan.samples(wire_repo)] + [b"\xde\xad" * 10]
        flags = remote.known(nodes)
        assert list(flags) == [True] * (len(nodes) - 1) + [False], f"{wire_repo}: `known` answered {flags}"


@pytest.fixture
def push_repo(plan):
    if not plan.push_repo:
        pytest.skip("no push repository: set HGHARNESS_PUSH_REPO or serve a repository named 'scratch'")
    return plan.push_repo


@pytest.mark.destructive
def test_push_then_pull_sees_new_head(target, http, push_repo, tmp_path):
    """A push is seen by a pull from another clone, and on the web: the history page someone had open before
    the push lists it when reloaded (no stale cache), and its changeset page shows it."""
    if not target.has_credentials():
        pytest.skip("needs the target's user: set HGHARNESS_USERNAME and HGHARNESS_PASSWORD")
    history = target.site.route("shortlog", push_repo)
    before, _ = page(http, target, history)  # seen before the push (a browser keeps it, and its ETag)
    etag = before.headers.get("ETag")
    observer = wire.clone(target, push_repo, tmp_path / "observer")
    pusher = wire.clone(target, push_repo, tmp_path / "pusher", auth=True)
    node = wire.commit_new_head(pusher, "pull-after-push")
    # hgweb's ETag has a resolution of one second: the push lands in a later second than the page was fetched in,
    # whatever another check pushed to this repository in that second (see freshness.VALIDATOR_RESOLUTION_S)
    freshness.after_validator_second()
    result = wire.push(target, pusher, push_repo, node, "user")
    assert result.accepted, f"push by {target.username} to {push_repo} was refused: {result.message}"
    wire.pull(target, observer, push_repo)
    assert node in observer, f"pull from {push_repo} after the push does not bring {node.hex()[:12]}"
    assert node in observer.heads(), f"pushed {node.hex()[:12]} is not a head after the pull"
    short = node.hex()[:12]
    _, p = page(http, target, history)
    assert short in pagetext.changeset_links(p, target, push_repo), (
        f"history page of {push_repo} does not list {short} after the push (a stale page?)")
    if etag:  # a browser revalidating its copy must get the new page, not "304 Not Modified"
        r = http.get(target.url_for(history), headers={"If-None-Match": etag}, timeout=60)
        assert r.status_code != 304, (f"history page of {push_repo} answers 304 Not Modified to the ETag it had "
                                      f"before the push ({etag}): browsers keep showing the old history")
    description = pusher[node].description().decode()
    _, p = page(http, target, target.site.route("rev", push_repo, rev=node.hex()), expected_content=description)
    assert p.contains(description), f"changeset page of pushed {short} does not show its description"


@pytest.mark.destructive
@pytest.mark.parametrize("who", ["anonymous", "wrong-password"])
def test_push_permissions(target, plan, who, tmp_path):
    """Anonymous push is refused unless the target's policy allows it; a wrong password is always refused."""
    repo = plan.push_repo or plan.checked[0]
    local = wire.clone(target, repo, tmp_path / "clone")
    node = wire.commit_new_head(local, who)
    result = wire.push(target, local, repo, node, who)
    stored = wire.known(target, repo, node)
    if who == "anonymous" and target.anonymous_push:
        assert result.accepted and stored, f"anonymous push to {repo} refused, but the policy allows it: " \
                                           f"{result.message}"
        return
    assert not result.accepted and not stored, (
        f"{who} push to {repo} was accepted (changeset {result.node[:12]} is on the server)"
        + ("" if who != "anonymous" else "; the target's policy refuses anonymous pushes"))
