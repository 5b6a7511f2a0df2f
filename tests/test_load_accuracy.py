"""Measuring right: against a real server that answers after a known delay, the load run reports that delay;
a shape is played as planned, and the target request count follows the users actually running."""

import csv
import statistics

import pytest

from tests.conftest import clean_env, run_cli
from tests.load_helpers import delayed_server, load_json, locust_sample_lines, only_run_dir
from tests.load_slow_app import DELAY_MS

pytestmark = [pytest.mark.load, pytest.mark.integration]


@pytest.fixture(scope="module")
def delayed_url(tmp_path_factory):
    with delayed_server(tmp_path_factory.mktemp("delayed")) as url:
        yield url


def _load(url, seed_repos, runs, *args):
    r = run_cli("load", "--target", url, "--mix", "browse-heavy", "--runs-dir", runs, *args,
                env=clean_env(HGHARNESS_FIXTURE_DIR=seed_repos))
    assert r.returncode == 0, r.stdout + r.stderr
    return only_run_dir(runs)


def test_median_within_5_percent_of_injected_delay(tmp_path, seed_repos, delayed_url):
    run_dir = _load(delayed_url, seed_repos, tmp_path / "runs", "--users", 10, "--spawn-rate", 10, "--duration", 10)
    agg = load_json(run_dir / "load-result.json")["aggregate"]
    assert agg["count"] >= 30 and agg["failures"] == 0, agg
    # the figure the gates judge (exact percentiles of every latency Locust's request event reported)
    assert abs(agg["p50_ms"] - DELAY_MS) <= 0.05 * DELAY_MS, f"median {agg['p50_ms']} ms, injected {DELAY_MS} ms"
    # the raw samples kept for baseline comparison say the same, request by request
    samples = [s["ms"] for s in locust_sample_lines(run_dir)]
    assert len(samples) == agg["count"]
    assert abs(statistics.median(samples) - DELAY_MS) <= 0.05 * DELAY_MS
    assert min(samples) >= DELAY_MS * 0.99, "a latency shorter than the server's own delay is a measuring error"
    # and Locust's own statistics, kept in the run directory, agree
    with open(run_dir / "locust_stats.csv") as f:
        aggregated = next(row for row in csv.DictReader(f) if row["Name"] == "Aggregated")
    assert abs(float(aggregated["Median Response Time"]) - DELAY_MS) <= 0.05 * DELAY_MS, aggregated


def test_step_shape_is_played_and_the_target_rate_follows_it(tmp_path, seed_repos, delayed_url):
    run_dir = _load(delayed_url, seed_repos, tmp_path / "runs", "--shape", "step", "--users", 8,
                    "--spawn-rate", 8, "--duration", 12)
    with open(run_dir / "locust_stats_history.csv") as f:
        users = [int(row["User Count"]) for row in csv.DictReader(f) if row["Name"] == "Aggregated"]
    steps = [u for i, u in enumerate(users) if i == 0 or u != users[i - 1]]
    assert steps[-4:] == [2, 4, 6, 8] or steps[-5:-1] == [2, 4, 6, 8], users  # (the last row may be 0: stopped)
    assert max(users) == 8
    result = load_json(run_dir / "load-result.json")
    # every browse-heavy class here paces 1 task/s or less, so the target is at most the user-seconds run,
    # and a quarter of the time at 2 users means well under a constant 8 users' worth
    assert 0 < result["target_web_requests"] <= result["user_seconds"] < 8 * result["elapsed_s"] * 0.8
    assert load_json(run_dir / "slo.json")["passed"]
