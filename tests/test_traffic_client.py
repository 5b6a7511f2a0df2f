"""The traffic client's pieces without a server: rebase, change maker, failure classes, bounds."""

import random
import urllib.error

import pytest

from hgharness.errors import HarnessError

pytestmark = pytest.mark.traffic


@pytest.fixture
def repo(tmp_path):
    from mercurial import hg

    from hgharness.hg import make_ui

    return hg.repository(make_ui(), str(tmp_path / "r").encode(), create=True)


def commit(repo, parent, files, message="m"):
    from types import SimpleNamespace

    from hgharness.hgclient import commit as hg_commit

    change = SimpleNamespace(files={p: (d, "", None) for p, d in files.items()}, message=message)
    return hg_commit(repo, parent, change, b"t <t@example.org>")


LINES = b"".join(b"line %d\n" % i for i in range(20))


def test_rebase_merges_both_sides_hunks(repo):
    from hgharness.hgclient import rebase

    base = commit(repo, repo.nullid, {b"f.txt": LINES, b"g.txt": b"g\n"})
    mine = commit(repo, base, {b"f.txt": LINES.replace(b"line 2\n", b"mine 2\n")})
    theirs = commit(repo, base, {b"f.txt": LINES.replace(b"line 17\n", b"theirs 17\n"), b"g.txt": b"g2\n"})
    (new,), conflicts = rebase(repo, [mine], theirs)
    ctx = repo[new]
    assert conflicts == 0
    assert ctx.p1().node() == theirs
    assert ctx[b"f.txt"].data() == LINES.replace(b"line 2\n", b"mine 2\n").replace(b"line 17\n", b"theirs 17\n")
    assert ctx[b"g.txt"].data() == b"g2\n"  # their change to a file we did not touch is kept
    assert ctx.files() == [b"f.txt"]


def test_rebase_conflict_keeps_our_lines_and_counts_it(repo):
    from hgharness.hgclient import rebase

    base = commit(repo, repo.nullid, {b"f.txt": LINES})
    mine = commit(repo, base, {b"f.txt": LINES.replace(b"line 5\n", b"mine 5\n")})
    theirs = commit(repo, base, {b"f.txt": LINES.replace(b"line 5\n", b"theirs 5\n")})
    (new,), conflicts = rebase(repo, [mine], theirs)
    assert conflicts == 1
    assert repo[new][b"f.txt"].data() == LINES.replace(b"line 5\n", b"mine 5\n")


def test_rebase_of_a_change_already_upstream_leaves_nothing_to_push(repo):
    from hgharness.hgclient import rebase

    base = commit(repo, repo.nullid, {b"f.txt": LINES})
    edited = LINES.replace(b"line 1\n", b"same\n")
    mine = commit(repo, base, {b"f.txt": edited}, "mine")
    theirs = commit(repo, base, {b"f.txt": edited}, "theirs")
    assert rebase(repo, [mine], theirs) == ([], 0)


def test_model_change_maker_makes_valid_varied_commits(tmp_path):
    from mercurial import verify

    from hgharness.fixtures.sets import DEFAULT_SET, build_set
    from hgharness.fixtures.traffic_changes import ModelChanges, change_maker
    from hgharness.hg import open_repo
    from hgharness.hgclient import Developer
    from hgharness.hgclient import commit as hg_commit

    name = build_set(DEFAULT_SET, tmp_path)[0]
    repo = open_repo(tmp_path / name)
    rng = random.Random(5)
    make = change_maker(rng)
    assert isinstance(make, ModelChanges), "the fixture model's change maker did not load"
    parent = Developer(None, name, repo, make, rng, b"t <t@x>", record=None).base()
    before, touched = len(repo), set()
    for _ in range(25):
        change = make(repo[parent], rng)
        assert change.files and change.message.strip()
        parent = hg_commit(repo, parent, change, b"t <t@example.org>")
        assert set(repo[parent].files()) == set(change.files)
        touched.update(change.files)
    assert len(repo) == before + 25
    assert len(touched) > 3  # not the same file every time
    repo.ui.pushbuffer()
    assert verify.verify(repo) == 0, repo.ui.popbuffer()
    repo.ui.popbuffer()


@pytest.mark.parametrize("exc, reason", [
    (urllib.error.HTTPError("http://x/", 500, "Internal Server Error", {}, None), "http-500"),
    (urllib.error.HTTPError("http://x/", 404, "Not Found", {}, None), "not-found"),
    (urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")), "unreachable"),
    (ConnectionResetError(104, "reset"), "connection"),
], ids=["500", "404", "refused", "reset"])
def test_classify_network_failures(exc, reason):
    from hgharness.hgclient import classify

    assert classify(exc)[0] == reason


def test_classify_mercurial_failures():
    from mercurial import error

    from hgharness.hgclient import classify

    assert classify(error.StateError(b"push creates new remote head 1450baa53cf3"))[0] == "new-head"
    assert classify(error.ResponseError(b"push failed:", b"remote repository changed while pushing - "
                                        b"please try again"))[0] == "push-race"
    assert classify(error.Abort(b"authorization failed"))[0] == "auth"
    assert classify(error.Abort(b"something else"))[0] == "abort"


@pytest.mark.parametrize("kw, words", [
    (dict(pushers=1), "bounded"),
    (dict(pushers=0, duration_s=5), "no actors"),
    (dict(pushers=65, duration_s=5), "at most 64"),
    (dict(pushers=1, duration_s=10_000), "--duration"),
    (dict(pushers=1, ops=10**9), "--ops"),
], ids=["unbounded", "no-actors", "too-many", "too-long", "too-many-ops"])
def test_config_is_always_bounded(kw, words):
    from hgharness.fixtures.traffic import TrafficConfig

    with pytest.raises(HarnessError, match=words):
        TrafficConfig(repos=["demo"], **kw).validate()


def test_refuses_a_target_that_does_not_allow_load():
    from hgharness.fixtures.traffic import TrafficConfig, run_traffic
    from hgharness.target import Target

    target = Target.from_options(target="http://hg.example.com/", env={})
    with pytest.raises(HarnessError, match="refusing load traffic"):
        run_traffic(target, TrafficConfig(repos=["demo"], pushers=1, ops=1), progress=lambda m: None)


def test_server_verify_blames_only_what_changed_during_the_run(tmp_path):
    from hgharness.fixtures.sets import build_set
    from hgharness.fixtures.traffic_verify import verify_server_repos

    build_set("seed", tmp_path)
    fncache = tmp_path / "demo" / ".hg" / "store" / "fncache"
    lines = fncache.read_text().splitlines()
    fncache.write_text("\n".join(lines[1:]) + "\n")  # damage present before the traffic: a warning
    before = verify_server_repos(tmp_path, ["demo"])
    assert before["status"] == "warnings" and before["repos"]["demo"]["findings"]
    assert verify_server_repos(tmp_path, ["demo"], baseline=before)["status"] == "warnings"

    store = tmp_path / "demo" / ".hg" / "store"
    victim = next(line for line in lines[1:] if (store / line).exists())  # fncache names are not encoded
    (store / victim).unlink()  # damage "during" the traffic: a failure
    after = verify_server_repos(tmp_path, ["demo"], baseline=before)
    assert after["status"] == "failed" and after["repos"]["demo"]["new_findings"], after
