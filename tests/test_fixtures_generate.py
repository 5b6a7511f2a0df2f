"""The generator: deterministic, valid repositories (hg verify), the features the model promises, hostile content,
and single realistic changes for push traffic."""

from __future__ import annotations

import os
import re

import psutil
import pytest

from hgharness.fixtures import distributions as D
from hgharness.fixtures import hostile
from hgharness.fixtures.generate import ChangeMaker, generate
from tests.conftest import clean_env, run_cli


def _verify(path) -> int:
    from mercurial import verify

    from hgharness.hg import open_repo

    return verify.verify(open_repo(path))


def _tip(result) -> str:
    m = re.search(r"^tip ([0-9a-f]{40})$", result.stdout, re.M)
    assert m, result.stdout + result.stderr
    return m.group(1)


def test_same_profile_seed_and_commits_give_the_same_tip_in_any_process(tmp_path):
    """Two processes with different hash randomization; then a different seed must give another history."""
    args = ["fixtures", "generate", "--profile", "hostile", "--commits", "60", "--seed", "7", "-q"]
    one = run_cli(*args, tmp_path / "one", env=clean_env(PYTHONHASHSEED="1"))
    two = run_cli(*args, tmp_path / "two", env=clean_env(PYTHONHASHSEED="2"))
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    assert _tip(one) == _tip(two)
    other = run_cli(*args[:-2], "8", "-q", tmp_path / "three")
    assert _tip(other) != _tip(one)


@pytest.fixture(scope="module")
def small_repo(tmp_path_factory):
    path = tmp_path_factory.mktemp("gen") / "small"
    result = generate("small", 500, 11, path)
    assert result["commits"] == 500
    return path


def test_many_small_transactions_write_the_same_history(small_repo, tmp_path, monkeypatch):
    """Transactions cut every few commits append to filelogs written by earlier ones: same bytes, same hash."""
    import hgharness.fixtures.history as H
    from hgharness.hg import open_repo

    monkeypatch.setattr(H, "COMMITS_PER_TRANSACTION", 37)
    generate("small", 500, 11, tmp_path / "chunked")
    assert open_repo(tmp_path / "chunked")[b"tip"].hex() == open_repo(small_repo)[b"tip"].hex()
    assert _verify(tmp_path / "chunked") == 0


def test_generated_repository_verifies_and_has_the_promised_features(small_repo):
    from hgharness.hg import open_repo

    assert _verify(small_repo) == 0
    repo = open_repo(small_repo)
    assert len(repo) == 500
    revs = lambda spec: list(repo.revs(spec))  # noqa: E731
    assert revs("merge()"), "no merges"
    assert len({repo[r].branch() for r in repo}) >= 2, "no named branch"
    assert [t for t in repo.tags() if t != b"tip"], "no tags"
    assert len(repo._bookmarks) >= 1
    assert len({repo[r].user() for r in repo}) >= 5, "authors"
    assert len({repo[r].date()[1] for r in repo}) >= 2, "time zones"
    tip = repo[b"tip"]
    flags = {tip.manifest().flags(f) for f in tip.manifest()}
    assert b"x" in flags, "no executable file"
    copied = [f for r in repo for f in repo[r].files() if f in repo[r] and repo[r][f].renamed()]
    assert copied, "no copy or rename"
    dates = [repo[r].date()[0] for r in repo]
    assert dates == sorted(dates), "dates go forward"
    assert not list(repo.revs("draft()")), "fixture history is public, as on a server"


def test_hostile_repository_carries_every_hostile_item(tmp_path):
    from hgharness.hg import open_repo

    path = tmp_path / "hostile"
    generate("hostile", 150, 1, path)
    assert _verify(path) == 0
    repo = open_repo(path)
    files = set(repo[0].manifest())
    for name in hostile.FILE_NAMES + [hostile.DEEP_PATH]:
        b = name.encode("utf-8")
        assert any(f == b or f.endswith(b"/" + b) for f in files), name
    dirs = {part for f in files for part in f.split(b"/")[:-1]}
    assert all(d.replace("/", "_").encode("utf-8") in dirs for d in hostile.DIR_NAMES)
    by_name = {f.rsplit(b"/", 1)[-1]: f for f in files}
    assert repo[0][by_name[b"crlf.txt"]].data() == hostile.CONTENTS["crlf.txt"]
    assert repo[0][by_name[b"link-outside"]].flags() == b"l"
    assert len(repo[0][by_name[hostile.LARGE_BINARY[0].encode()]].data()) == hostile.LARGE_BINARY[1]
    users = {repo[r].user().decode("utf-8") for r in repo}
    assert any(hostile.SCRIPT in u for u in users)
    branches = {repo[r].branch().decode("utf-8") for r in repo}
    assert any(hostile.SCRIPT in b for b in branches) and any(hostile.RTL in b for b in branches)
    tags = {t.decode("utf-8") for t in repo.tags()}
    assert any("<svg" in t for t in tags) or any(hostile.SCRIPT in t for t in tags)
    marks = {m.decode("utf-8") for m in repo._bookmarks}
    assert any(hostile.SCRIPT in m for m in marks)
    assert [r for r in repo if not repo[r].files() and len(repo[r].parents()) == 1], "no empty commit"


def test_change_maker_makes_a_realistic_commit(small_repo, tmp_path):
    import shutil

    from hgharness.hg import open_repo

    path = tmp_path / "work"
    shutil.copytree(small_repo, path, symlinks=True)
    repo = open_repo(path)
    maker = ChangeMaker("small", seed=3)
    parent = repo[b"tip"]
    change = maker.make(parent)
    assert change.files and change.message
    node = maker.commit(repo, change, parent=parent)
    new = repo[node]
    assert new.p1() == parent and set(new.files()) == set(change.files)
    for path_, v in change.files.items():
        if v is None:
            assert path_ not in new
        else:
            assert new[path_].data() == v[0]
    assert _verify(path) == 0
    # deterministic for a seed
    assert ChangeMaker("small", seed=3).make(parent).files == change.files


def test_generate_refuses_what_it_must(tmp_path):
    from hgharness.errors import HarnessError

    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(HarnessError, match="not empty"):
        generate("tiny", 10, 1, tmp_path / "busy")
    with pytest.raises(HarnessError, match="not a Mercurial repository"):
        generate("tiny", 10, 1, tmp_path / "busy", force=True)
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
    generate("tiny", 10, 1, tmp_path / "repo")
    generate("tiny", 12, 1, tmp_path / "repo", force=True)
    assert len(os.listdir(tmp_path / "repo")) == 1


def _probe(mode: str, filelog_process: bool, out) -> dict:
    """tests/gen_probe.py in an interpreter of its own (see there)."""
    import json
    import subprocess
    import sys

    from tests.conftest import ROOT

    p = subprocess.run([sys.executable, "-m", "tests.gen_probe", mode, "1" if filelog_process else "0", str(out)],
                       cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def _file_revisions(repo) -> dict:
    """(path, node) -> ((p1, p2), copy source) of every file revision a changeset made."""
    out = {}
    for rev in repo:
        ctx = repo[rev]
        for path in ctx.files():
            if path in ctx:
                fctx = ctx[path]
                out[(path, fctx.filenode())] = (fctx.filelog().parents(fctx.filenode()), fctx.copysource())
    return out


@pytest.mark.parametrize("filelog_process", [True, False], ids=["filelog-process", "writer-threads"])
def test_direct_writers_match_mercurials_own_revlog_code(tmp_path, monkeypatch, filelog_process):
    """The changelog, manifest and filelog writers of fixtures/revlogs.py against Mercurial's own: the same
    history (tip hash), and both verify. Small batches and a low revision bound make the direct path split
    inline filelogs and hand long ones to Mercurial: from the reply thread of the child process that appends
    filelogs (the default in a new repository), or from the writer threads. The changesets and manifests are
    built by a child process of their own (the default) or by the chain thread, and by the generating thread
    where Mercurial writes them."""
    import hgharness.fixtures.revlogs as R
    from hgharness.hg import open_repo

    got = _probe("direct", filelog_process, tmp_path / "direct")
    calls = got["calls"]
    assert calls["split"] > 0 and calls["mercurial"] > 0 and (calls["replies"] > 0) == filelog_process, calls
    assert calls["chain_process"] == (1 if filelog_process else 0), calls
    monkeypatch.setattr(R.DirectRevlogs, "for_repo", classmethod(lambda cls, repo, maxchain: None))
    monkeypatch.setattr(R.InlineFilelogAppender, "for_repo", classmethod(lambda cls, repo: None))
    generate("medium", 700, 5, tmp_path / "mercurial")
    direct, mercurial = open_repo(tmp_path / "direct"), open_repo(tmp_path / "mercurial")
    assert direct[b"tip"].hex() == mercurial[b"tip"].hex() == got["tip"].encode()
    assert len(direct) == len(mercurial) == 700
    # the hashes sort the parents: their order, which says whether a revision is a copy, is compared here
    revisions = _file_revisions(direct)
    assert revisions == _file_revisions(mercurial)
    null = b"\0" * 20
    assert any(p1 == null and p2 != null and src for (p1, p2), src in revisions.values()), \
        "no copy with a filelog parent (whose parents this Mercurial swaps) to compare"
    assert _verify(tmp_path / "direct") == 0 and _verify(tmp_path / "mercurial") == 0


@pytest.mark.parametrize("filelog_process", [True, False], ids=["filelog-process", "writer-threads"])
def test_a_failing_writer_thread_stops_the_generation_and_every_thread(tmp_path, filelog_process):
    """A disk error appending a filelog (in the child process that does it, or a writer thread) ends generate()
    with that error, and no thread or process of the generator stays."""
    got = _probe("disk-full", filelog_process, tmp_path / "full")
    assert got["error"] == "OSError: [Errno 28] No space left on device", got  # the child's error, as itself
    assert got["threads"] == [] and got["children"] == [], got


@pytest.mark.parametrize("chain_process", [True, False], ids=["chain-process", "chain-thread"])
def test_a_failing_changeset_builder_stops_the_generation_and_every_thread(tmp_path, chain_process):
    """Building the manifests and changesets (writer.ChainBuilder: in a child process of its own in a new
    repository, else in the chain thread) fails at the 300th: generate() ends with that error, and no thread or
    process of the generator stays."""
    got = _probe("chain-broken", chain_process, tmp_path / "broken")
    assert got["error"] == "OSError: [Errno 5] Input/output error", got
    assert got["threads"] == [] and got["children"] == [], got


def test_no_path_is_ever_both_a_file_and_a_directory(seed_repos):
    """No real project has a file `load` next to a directory `load/` (a checkout of such a tree fails, and
    Kallithea's file finder answered 500 on the default set's `small` before the generator kept them apart): over
    each repository's whole history, no path that ever names a file names a directory of another."""
    from hgharness.hg import open_repo

    for path in sorted(p for p in seed_repos.iterdir() if (p / ".hg").is_dir()):
        repo = open_repo(path)
        files = {f for r in repo for f in repo[r].files()}
        dirs = {f.rsplit(b"/", 1)[0] for f in files if b"/" in f}
        dirs |= {d.rsplit(b"/", i)[0] for d in dirs for i in range(1, d.count(b"/") + 1)}
        both = sorted(files & dirs)
        assert not both, f"{path.name}: {len(both)} paths are both a file and a directory: {both[:5]}"


def test_well_known_top_level_files_stay_for_the_whole_history(small_repo):
    """README, LICENSE, setup files... where the analyzed history has them: added by the first commit, edited
    later, never removed, renamed or copied by the generator (they vanished from tiny's history before)."""
    from hgharness.fixtures.model import load_profile
    from hgharness.hg import open_repo

    top = [f.encode() for f in load_profile("small")["names"]["top_files"]]
    assert top, "the small profile names its top-level files"
    repo = open_repo(small_repo)
    gone = [(r, f) for r in repo for f in top if f not in repo[r]]
    assert not gone, f"{len(gone)} revisions lack a top-level file, first {gone[0]}"
    assert sum(1 for r in repo for f in repo[r].files() if f in top) > len(top), "never edited"


def test_the_store_directories_are_spread_where_the_file_system_can(tmp_path):
    """ext4: store/ and store/data/ carry the top-of-hierarchy flag (chattr +T), so that the filelogs' directories
    go to block groups of their own (file creation after a large deletion nearby is then about 8x cheaper);
    elsewhere the flag cannot be set and the generator goes on without it."""
    import fcntl
    import struct

    from hgharness.fixtures.generate import FS_IOC_GETFLAGS, FS_TOPDIR_FL, spread_directories

    def flags(path) -> int:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            buf = bytearray(8)
            fcntl.ioctl(fd, FS_IOC_GETFLAGS, buf)
            return struct.unpack_from("=i", buf)[0]
        finally:
            os.close(fd)

    probe = tmp_path / "probe"
    probe.mkdir()
    if not spread_directories(probe):
        pytest.skip("this file system has no top-of-hierarchy flag")
    assert flags(probe) & FS_TOPDIR_FL
    generate("tiny", 20, 1, tmp_path / "r")
    store = tmp_path / "r" / ".hg" / "store"
    assert flags(store) & FS_TOPDIR_FL and flags(store / "data") & FS_TOPDIR_FL
    assert _verify(tmp_path / "r") == 0


@pytest.mark.parametrize("how", ["ctrl-c", "parent-killed"])
def test_an_interrupted_generation_leaves_no_process(tmp_path, how):
    """`fixtures generate` stopped while its children run (the one that appends filelogs, the one that builds
    changesets): Ctrl-C ends all (exit 130, no traceback); the parent killed outright (SIGKILL: nothing of it
    runs) ends the children too, which read the end of their pipes."""
    import signal
    import subprocess
    import sys

    from hgharness.procs import wait_until
    from tests.conftest import ROOT

    log = tmp_path / "log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hgharness", "fixtures", "generate", "--profile", "medium",
                                 "--commits", "100000", str(tmp_path / "r")], cwd=ROOT, env=clean_env(),
                                stdout=out, stderr=subprocess.STDOUT, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a terminal's
    try:
        parent = psutil.Process(proc.pid)
        children = wait_until(lambda: len(c := parent.children()) == 2 and c, timeout=60,
                              what="the filelog writer and changeset builder processes")
        wait_until(lambda: "commits (" in log.read_text(), timeout=60, what="a first progress line")
        proc.send_signal(signal.SIGINT if how == "ctrl-c" else signal.SIGKILL)
        code = proc.wait(60)
        wait_until(lambda: all(not c.is_running() or c.status() == psutil.STATUS_ZOMBIE for c in children),
                   timeout=60, what="the generator's child processes to end")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    text = log.read_text()
    if how == "ctrl-c":
        assert code == 130 and "Traceback" not in text, text[-2000:]
    else:
        assert code == -signal.SIGKILL


def test_binaries_change_as_rarely_as_the_profile_says(tmp_path):
    """binary_revisions: binaries of a profile that learned them untouched after their creation keep one revision
    each outside merges, where the same profile without the key (a copy of file_revisions, the old draw) edits
    them like text; and analyze reads the key back."""
    import copy

    from hgharness.fixtures.analyze import analyze
    from hgharness.fixtures.model import load_profile
    from hgharness.hg import open_repo

    base = load_profile("small")
    base["distributions"]["binary"] = {"p": 0.3}
    learned = copy.deepcopy(base)
    learned["distributions"]["binary_revisions"] = {"values": [1], "weights": [1]}
    edits = {}
    for name, prof in (("learned", learned), ("old", base)):
        generate(prof, 600, 3, tmp_path / name)
        repo = open_repo(tmp_path / name)
        binaries = [f for f in repo[b"tip"].manifest() if b"\0" in repo[b"tip"][f].data()]
        assert len(binaries) > 10, name
        edits[name] = sum(1 for f in binaries for i in range(len(repo.file(f)))
                          if len(repo[repo.file(f).linkrev(i)].parents()) == 1) - len(binaries)
    assert edits["learned"] <= 3 < 30 < edits["old"], edits  # a few: renamed or copied, never edited
    learned_back = analyze(tmp_path / "learned")["distributions"]["binary_revisions"]
    old_back = analyze(tmp_path / "old")["distributions"]["binary_revisions"]
    assert D.mean(learned_back) < 2 < D.mean(old_back), (learned_back, old_back)
