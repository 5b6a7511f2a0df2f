"""Freshness after writes, and the server's state after a push (issue 18).

After each kind of write (a push to a branch, a new head, a tag, a bookmark move) every view that shows the
changed state shows it at once, to a client that kept the view from before the write and revalidates it
(suites/headless/freshness.py: the views, the writes, the cache rule). After a push, what a client observes of
the server matches what the target declares (`publishing` in targets.toml): the phase of the pushed
changesets, the heads, the branch map, and what `hg incoming` and `hg outgoing` say.
"""

from __future__ import annotations

from contextlib import closing

import pytest

from hgharness.suites.headless import freshness as fr
from hgharness.suites.headless import wire
from hgharness.suites.support.known_issues import known_defect, stale_feed_issue

pytestmark = [pytest.mark.headless, pytest.mark.destructive]

# the coverage table's declarations (suites/support/coverage.py): one entry per (view, representation, write),
# a literal (read without importing); tests/test_freshness_units.py holds it to freshness.VIEWS
COVERAGE = [
    {"kind": "log", "rep": "html", "write": "push",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "log", "rep": "html", "write": "new_head",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "log", "rep": "html", "write": "tag",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "shortlog", "rep": "html", "write": "push",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "shortlog", "rep": "html", "write": "new_head",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "shortlog", "rep": "html", "write": "tag",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "graph", "rep": "html", "write": "push",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "graph", "rep": "html", "write": "new_head",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "graph", "rep": "html", "write": "tag",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "summary", "rep": "html", "write": "push",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "summary", "rep": "html", "write": "new_head",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "summary", "rep": "html", "write": "tag",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "rev", "rep": "html", "write": "push",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "rev", "rep": "html", "write": "new_head",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "rev", "rep": "html", "write": "tag",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "rev", "rep": "html", "write": "bookmark",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "tags", "rep": "html", "write": "tag",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "branches", "rep": "html", "write": "push",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "branches", "rep": "html", "write": "new_head",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "branches", "rep": "html", "write": "tag",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "bookmarks", "rep": "html", "write": "bookmark",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "json_log", "rep": "json", "write": "push",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "json_log", "rep": "json", "write": "new_head",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "json_log", "rep": "json", "write": "tag",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "json_rev", "rep": "json", "write": "push",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "json_rev", "rep": "json", "write": "new_head",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "json_rev", "rep": "json", "write": "tag",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "json_rev", "rep": "json", "write": "bookmark",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "json_tags", "rep": "json", "write": "tag",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "json_branches", "rep": "json", "write": "push",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "json_branches", "rep": "json", "write": "new_head",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "json_branches", "rep": "json", "write": "tag",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "json_bookmarks", "rep": "json", "write": "bookmark",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "refs", "rep": "json", "write": "push",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "refs", "rep": "json", "write": "new_head",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "refs", "rep": "json", "write": "tag",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "refs", "rep": "json", "write": "bookmark",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "atom_log", "rep": "atom", "write": "push",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "atom_log", "rep": "atom", "write": "new_head",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "atom_log", "rep": "atom", "write": "tag",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "rss_log", "rep": "rss", "write": "push",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "rss_log", "rep": "rss", "write": "new_head",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"kind": "rss_log", "rep": "rss", "write": "tag",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"route": "wire:heads", "rep": "wire", "write": "push",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"route": "wire:heads", "rep": "wire", "write": "new_head",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"route": "wire:heads", "rep": "wire", "write": "tag",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"route": "wire:branchmap", "rep": "wire", "write": "push",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"route": "wire:branchmap", "rep": "wire", "write": "new_head",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"route": "wire:branchmap", "rep": "wire", "write": "tag",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"route": "wire:listkeys", "rep": "wire", "write": "bookmark",
     "aspect": "freshness", "check": "test_views_show_the_write"},
    {"route": "wire:listkeys", "rep": "wire", "write": "push",
     "aspect": "freshness", "check": "test_server_state_after_push"},
    {"route": "wire:heads", "rep": "wire", "write": "push",
     "aspect": "freshness", "check": "test_server_state_after_push"},
    {"route": "wire:branchmap", "rep": "wire", "write": "push",
     "aspect": "freshness", "check": "test_server_state_after_push"},
    {"route": "wire:getbundle", "rep": "wire", "write": "push",
     "aspect": "freshness", "check": "test_server_state_after_push"},
    {"route": "wire:known", "rep": "wire", "write": "push",
     "aspect": "freshness", "check": "test_server_state_after_push"},
]


@pytest.fixture(scope="module")
def scratch(target, plan):
    """The repository the writes go to: one of its own where the site can create one (Kallithea's API, removed
    afterwards), else the push repository."""
    if not target.has_credentials():
        pytest.skip("needs the target's user: set HGHARNESS_USERNAME and HGHARNESS_PASSWORD")
    if target.can("create_repo") and target.api_key:
        name = f"hgharness-fresh-{fr.token()}"
        target.site.create_repo(target, name)
        try:
            yield name
        finally:
            target.site.delete_repo(target, name)
        return
    if not plan.push_repo:
        pytest.skip("no push repository: set HGHARNESS_PUSH_REPO or serve a repository named 'scratch'")
    yield plan.push_repo


@pytest.fixture(scope="module")
def prepared(target, scratch, tmp_path_factory):
    """One clone and one set-up push per test process for the four writes (each on a branch of its own)."""
    local = wire.clone(target, scratch, tmp_path_factory.mktemp("freshness") / "clone", auth=True)
    nodes = fr.set_up(target, local, scratch)
    return local, nodes


@pytest.mark.parametrize("kind", fr.WRITES)
def test_views_show_the_write(target, http, scratch, prepared, kind):
    """Fetch every view that shows what a write of `kind` changes, write, revalidate every view: each shows it."""
    local, all_nodes = prepared
    nodes = all_nodes[kind]
    subject = {"tag": nodes["a"], "bookmark": nodes.get("k")}.get(kind)
    views = fr.views_for(target, kind, scratch, nodes["branch"], subject.hex() if subject else "")
    before = fr.fetch_all(http, target, views)
    # validators of whole seconds (hgweb's ETag is the newest mtime of the repository's files): the write lands in
    # a later second of the clock than every copy was fetched in, whatever any other check pushed meanwhile
    fr.after_validator_second()
    w = fr.write(target, local, scratch, kind, nodes)
    after = fr.fetch_all(http, target, views, before=before)
    problems, known = [], []
    for v in views:
        problem, stale = fr.judge(v, before[v.id], after[v.id], w)
        if problem and v.id == "wire:heads":
            problem = fr.heads_problem(target, local, scratch, w, problem)
        if problem and stale and stale_feed_issue(target, v.id.replace("-log", "_log")):
            issue = stale_feed_issue(target, v.id.replace("-log", "_log"))
            known.append(f"{problem}: known {issue['id']}: {issue['why']}")
        elif problem:
            problems.append(problem)
    assert not problems, f"{len(problems)} of {len(views)} views stale after the {kind} write to {scratch}: " \
                         + "; ".join(problems)
    if known:
        known_defect(target, "; ".join(known))


def test_server_state_after_push(target, scratch, tmp_path):
    """After a push: the pushed changesets' phase is the one the target declares (public on a publishing site,
    draft otherwise) over the wire, in a pull and in the pusher's clone; the branch map and the heads have
    them; `hg outgoing` from the pusher says nothing; `hg incoming` to a clone from before the push lists
    exactly them."""
    from mercurial import bundlerepo, discovery, phases

    older = wire.clone(target, scratch, tmp_path / "older", auth=True)
    local = wire.clone(target, scratch, tmp_path / "pusher", auth=True)
    branch = f"hgharness-fresh-state-{fr.token()}"
    base = fr.fork_point(local)
    a = fr.commit(local, base, branch, "state first")
    c = fr.commit(local, a, branch, "state second")
    fr.push(target, local, scratch, [c])
    pushed = {a, c}
    declared = "public" if target.publishing else "draft"
    problems = []
    with closing(wire.peer(target, scratch, auth=True)) as remote:
        keys = remote.listkeys(b"phases")
        heads = remote.heads()
        branchmap = remote.branchmap()
        out = discovery.findcommonoutgoing(local, remote)
        other, incoming, cleanup = bundlerepo.getremotechanges(older.ui, older, remote,
                                                               onlyheads=branchmap.get(branch.encode(), []))
        cleanup()
        del other
        _, all_incoming, cleanup = bundlerepo.getremotechanges(older.ui, older, remote)
        cleanup()
    publishing = keys.get(b"publishing") == b"True"
    if publishing != target.publishing:
        problems.append(f"listkeys phases says {'publishing' if publishing else 'not publishing'}, the target "
                        f"declares publishing = {str(target.publishing).lower()}")
    roots = {bytes.fromhex(k.decode()) for k, v in keys.items() if k != b"publishing" and v == b"1"}
    if not publishing and not roots & pushed:
        problems.append(f"listkeys phases lists no draft root among the pushed {_short(pushed)}: public on a "
                        "site that does not publish")
    if branchmap.get(branch.encode()) != [c]:
        problems.append(f"branchmap gives branch {branch} the heads {_short(branchmap.get(branch.encode(), []))}, "
                        f"not {_short([c])}")
    if c not in heads and fr.heads_problem(target, local, scratch, _written(scratch, branch, c), "x"):
        problems.append(f"heads {_short(heads)} lack the pushed head {_short([c])}")
    if out.missing:
        problems.append(f"hg outgoing from the pusher lists {_short(out.missing)} after the push succeeded")
    if set(incoming) != pushed:
        problems.append(f"hg incoming -b {branch} to a clone from before the push lists {_short(incoming)}, not "
                        f"the pushed {_short(pushed)}")
    if not pushed <= set(all_incoming):
        problems.append(f"hg incoming to a clone from before the push lacks {_short(pushed - set(all_incoming))}")
    seen = {"pusher": local}
    wire.pull(target, older, scratch)
    seen["a pull"] = older
    for who, repo in seen.items():
        got = {phases.phasenames[repo[n].phase()].decode() for n in pushed if n in repo}
        if got != {declared}:
            problems.append(f"the pushed changesets are {'/'.join(sorted(got)) or 'missing'} in {who}, not "
                            f"{declared} (publishing = {str(target.publishing).lower()})")
    assert not problems, f"server state after a push to {scratch}: " + "; ".join(problems)


def _short(nodes) -> list[str]:
    return sorted(n.hex()[:12] for n in nodes)


def _written(repo: str, branch: str, head: bytes) -> fr.Write:
    return fr.Write("push", repo, branch, head.hex(), {head.hex()}, new=head.hex())
