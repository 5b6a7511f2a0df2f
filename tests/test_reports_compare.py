"""`hgharness report compare`: no alarm on same-build noise, an alarm on a 30% slowdown.

Three kinds of evidence: synthetic runs with realistic noise (fixed seeds, deterministic), real samples recorded
from the embedded hgweb and committed (tests/data/reports, see its README), and the CLI end to end.
"""

import json
import random

import pytest

from hgharness.reports.compare import Settings, compare_runs
from hgharness.reports.samples import read_samples, write_samples
from tests.conftest import run_cli
from tests.reports_helpers import DATA, synthetic_run, write_run

ACTIONS = {"index": 12.0, "log": 25.0, "rev": 30.0, "file": 18.0}


def _pair(tmp_path, rng, i, n=250, slow=None, **noise):
    slow = slow or {}
    base = write_run(tmp_path / f"base{i}", {a: synthetic_run(rng, n, m, **noise) for a, m in ACTIONS.items()})
    cur = write_run(tmp_path / f"cur{i}", {a: synthetic_run(rng, n, m, slowdown=slow.get(a, 1.0), **noise)
                                           for a, m in ACTIONS.items()})
    return base, cur


def test_same_build_is_not_flagged_where_a_naive_test_would_be(tmp_path):
    """40 pairs of same-build runs x 4 actions: no regression; per-sample Mann-Whitney at 5% cries wolf."""
    from hgharness.reports import stats

    rng = random.Random(20261128)
    flagged = naive = 0
    for i in range(40):
        base, cur = _pair(tmp_path, rng, i)
        result = compare_runs(base, cur, Settings(resamples=150))
        flagged += len(result["regressions"])
        b, c = read_samples(base), read_samples(cur)
        naive += sum(stats.mann_whitney(b.latencies(a), c.latencies(a))["p_greater"] < 0.05 for a in ACTIONS)
    assert flagged == 0
    assert naive >= 16  # >= 10% of 160: the noise is correlated enough to fool a textbook test


def test_injected_30_percent_slowdown_is_flagged(tmp_path):
    rng = random.Random(7)
    runs_flagged = actions_flagged = 0
    for i in range(15):
        base, cur = _pair(tmp_path, rng, i, slow={a: 1.3 for a in ACTIONS})
        result = compare_runs(base, cur, Settings(resamples=150))
        runs_flagged += result["exit_code"] == 1
        actions_flagged += len(result["regressions"])
    assert runs_flagged == 15
    assert actions_flagged >= 0.75 * 15 * len(ACTIONS)


def test_slowdown_below_the_threshold_is_not_flagged_and_only_the_slow_action_is(tmp_path):
    rng = random.Random(99)
    for i in range(8):
        base, cur = _pair(tmp_path, rng, i, slow={a: 1.05 for a in ACTIONS} | {"log": 1.6})
        result = compare_runs(base, cur, Settings(resamples=150))
        assert result["regressions"] == ["log"]
        verdicts = {r["action"]: r["verdict"] for r in result["rows"]}
        assert verdicts["log"] == "regression"
        assert all(verdicts[a] in ("no change", "possibly slower") for a in ("index", "rev", "file"))


def test_verdicts_are_reproducible(tmp_path):
    base, cur = _pair(tmp_path, random.Random(5), 0, slow={"rev": 1.25})
    first, second = compare_runs(base, cur), compare_runs(base, cur)
    assert first == second


def test_small_samples_new_actions_and_failures(tmp_path):
    rng = random.Random(1)
    base = write_run(tmp_path / "base", {"log": synthetic_run(rng, 200, 20), "few": [10.0] * 10,
                                         "gone": synthetic_run(rng, 50, 5), "flaky": synthetic_run(rng, 400, 9)})
    cur = write_run(tmp_path / "cur", {"log": synthetic_run(rng, 200, 20), "few": [50.0] * 10,
                                       "new": synthetic_run(rng, 50, 5), "flaky": synthetic_run(rng, 400, 9)})
    write_samples(cur, "flaky", [3.0] * 60, ok=False)  # 13% of the requests now fail (fast)
    write_samples(base, "flaky", [3.0] * 2, ok=False)
    result = compare_runs(base, cur)
    v = {r["action"]: r["verdict"] for r in result["rows"]}
    assert v == {"log": "no change", "few": "too few samples", "gone": "only in base", "new": "only in current",
                 "flaky": "more failures"}
    assert result["regressions"] == ["flaky"] and result["exit_code"] == 1


def test_several_baselines_absorb_run_to_run_noise(tmp_path):
    """A machine that is 25% slower today: one baseline cannot know; five baselines that show that spread can."""
    rng = random.Random(3)
    noisy = dict(drift_sd=0.2)
    bases = [write_run(tmp_path / f"b{i}", {a: synthetic_run(rng, 250, m, **noisy) for a, m in ACTIONS.items()})
             for i in range(5)]
    pooled = read_samples(bases[0])
    cur = write_run(tmp_path / "cur", {a: [x * 1.25 for x in pooled.latencies(a)] for a in ACTIONS})
    assert compare_runs(bases[0], cur)["exit_code"] == 1  # the same samples, 25% slower: flagged
    several = compare_runs(bases, cur)
    assert several["exit_code"] == 0
    assert all(r["run_to_run_sd"] > 0.05 for r in several["rows"])


# --- real samples, recorded from the embedded hgweb (tests/data/reports) ----------------------------------------

def test_recorded_runs_of_the_same_build_are_not_flagged():
    result = compare_runs(DATA / "same-a", DATA / "same-b")
    assert result["exit_code"] == 0 and result["compared"] == 4
    assert all(r["verdict"] == "no change" for r in result["rows"]), result["rows"]
    assert all(abs(r["ratio"] - 1) < 0.10 for r in result["rows"])


def test_recorded_30_percent_slowdown_is_flagged():
    result = compare_runs(DATA / "same-a", DATA / "slow30")
    assert result["exit_code"] == 1
    assert len(result["regressions"]) >= 2
    assert all(r["ratio"] > 1.2 for r in result["rows"])
    assert compare_runs([DATA / "same-a", DATA / "same-b"], DATA / "slow30")["exit_code"] == 1


def test_recorded_noisy_machine_needs_several_baselines():
    """Recorded while other suites loaded the machine: the same build was 2.5x slower in one run than in another."""
    single = compare_runs(DATA / "noisy-7", DATA / "noisy-0")
    assert single["exit_code"] == 1  # the limit of one baseline: a slower machine looks like a slower build
    several = compare_runs([DATA / "noisy-1", DATA / "noisy-6", DATA / "noisy-7"], DATA / "noisy-0")
    assert several["exit_code"] == 0
    assert any("differ among themselves" in w for w in several["warnings"])


# --- the command ------------------------------------------------------------------------------------------------

def test_cli_compare_exit_codes_table_and_report(tmp_path):
    out = tmp_path / "same.html"
    same = run_cli("report", "compare", DATA / "same-a", DATA / "same-b", "--out", out)
    assert same.returncode == 0, same.stderr
    assert "NO REGRESSION" in same.stdout and "no change" in same.stdout
    assert out.exists() and json.loads(out.with_suffix(".json").read_text())["verdict"] == "no regression"
    slow = run_cli("report", "compare", DATA / "same-a", DATA / "slow30", "--out", tmp_path / "slow.html")
    assert slow.returncode == 1, slow.stderr
    assert "REGRESSION" in slow.stdout
    page = (tmp_path / "slow.html").read_text()
    assert "<script" not in page and page.count('class="chart"') == 2
    # a 50% threshold: the same slowdown is no longer worth a red build
    lenient = run_cli("report", "compare", DATA / "same-a", DATA / "slow30", "--threshold", "50",
                      "--out", tmp_path / "lenient.html")
    assert lenient.returncode == 0, lenient.stdout


def test_cli_compare_bad_input_is_a_harness_error(tmp_path):
    missing = run_cli("report", "compare", tmp_path / "nope", DATA / "same-a")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = run_cli("report", "compare", tmp_path / "empty", DATA / "same-a")
    assert empty.returncode == 2 and "no latency samples" in empty.stderr
    bad = run_cli("report", "compare", DATA / "same-a", DATA / "same-b", "--quantile", "150")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_compare_page_escapes_hostile_action_names(tmp_path):
    rng = random.Random(2)
    evil = '<img src=x onerror=alert(1)>"&\''
    base = write_run(tmp_path / "b", {evil: synthetic_run(rng, 100, 10)})
    cur = write_run(tmp_path / "c", {evil: synthetic_run(rng, 100, 10, slowdown=2)})
    proc = run_cli("report", "compare", base, cur)
    assert proc.returncode == 1
    page = (cur / "compare.html").read_text()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


@pytest.mark.parametrize("line", ['{"action": "a", "ms": "NaN"}', "not json", '{"ms": 3}', '{"action": "a", "ms": -1}'])
def test_damaged_sample_lines_are_skipped_and_counted(tmp_path, line):
    write_samples(tmp_path, "a", [1.0, 2.0])
    with open(next((tmp_path / "samples").glob("*.jsonl")), "a") as f:
        f.write(line + "\n")
    smp = read_samples(tmp_path)
    assert smp.latencies("a") == [1.0, 2.0] and smp.bad_lines == 1
