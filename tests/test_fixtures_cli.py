"""`hgharness fixtures`: generate and analyze as a user runs them, and every kind of bad input -> exit 2."""

from __future__ import annotations

import json

from tests.conftest import run_cli


def test_generate_then_analyze_round_trip(tmp_path):
    out = tmp_path / "repo"
    r = run_cli("fixtures", "generate", "--profile", "tiny", "--commits", "40", "--seed", "5", out)
    assert r.returncode == 0, r.stderr
    assert "generated 40 commits of profile tiny" in r.stdout
    assert "generating tiny: 40/40 commits" in r.stderr  # the periodic progress line when not on a terminal
    prof = tmp_path / "tiny.json"
    r = run_cli("fixtures", "analyze", out, "-o", prof)
    assert r.returncode == 0, r.stderr
    data = json.loads(prof.read_text())
    assert data["source"]["commits"] == 40 and data["version"] == 1
    # the analysis is itself a valid profile: generate from it
    r = run_cli("fixtures", "generate", "--profile", prof, "--commits", "20", "--seed", "1", "-q", tmp_path / "again")
    assert r.returncode == 0, r.stderr


def test_list_shows_profiles_and_sets():
    r = run_cli("fixtures", "list")
    assert r.returncode == 0
    for word in ("tiny", "small", "medium", "large", "monorepo", "hostile", "standard (default)"):
        assert word in r.stdout


def test_unknown_profile_exits_2_listing_the_known_ones(tmp_path):
    r = run_cli("fixtures", "generate", "--profile", "enormous", "--commits", "5", tmp_path / "x")
    assert r.returncode == 2
    assert "unknown profile 'enormous'" in r.stderr and "medium" in r.stderr and "hostile" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_existing_non_empty_out_is_refused_without_force(tmp_path):
    out = tmp_path / "repo"
    assert run_cli("fixtures", "generate", "--profile", "tiny", "--commits", "5", "-q", out).returncode == 0
    r = run_cli("fixtures", "generate", "--profile", "tiny", "--commits", "5", "-q", out)
    assert r.returncode == 2 and "not empty" in r.stderr and "--force" in r.stderr
    r = run_cli("fixtures", "generate", "--profile", "tiny", "--commits", "7", "-q", "--force", out)
    assert r.returncode == 0, r.stderr


def test_invalid_profile_file_exits_2_naming_what_is_wrong(tmp_path):
    from hgharness.fixtures.model import load_profile

    prof = load_profile("tiny")
    prof["distributions"]["hunks"] = {"values": [1, 2], "weights": [1, -3]}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(prof))
    r = run_cli("fixtures", "generate", "--profile", bad, "--commits", "5", tmp_path / "x")
    assert r.returncode == 2
    assert "distributions.hunks.weights" in r.stderr and "non-negative" in r.stderr
    bad.write_text("{ nope")
    r = run_cli("fixtures", "generate", "--profile", bad, "--commits", "5", tmp_path / "x")
    assert r.returncode == 2 and "not JSON" in r.stderr


def test_analyze_on_a_non_repository_exits_2(tmp_path):
    r = run_cli("fixtures", "analyze", tmp_path, "-o", tmp_path / "p.json")
    assert r.returncode == 2 and "is not a Mercurial repository" in r.stderr
    r = run_cli("fixtures", "analyze", tmp_path / "missing")
    assert r.returncode == 2
    assert not (tmp_path / "p.json").exists()


def test_bad_commit_count_and_missing_subcommand_exit_2(tmp_path):
    r = run_cli("fixtures", "generate", "--commits", "0", tmp_path / "x")
    assert r.returncode == 2 and "--commits" in r.stderr
    r = run_cli("fixtures")
    assert r.returncode == 2 and "subcommand" in r.stderr
