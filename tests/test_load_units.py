"""Shapes are bounded, gates judge what they say, mixes are validated, the catalog names only real pages."""

import random
from pathlib import Path

import pytest
import requests

from hgharness.errors import HarnessError
from hgharness.load import mixes, shapes, slo
from hgharness.load.catalog import catalog_for
from tests.conftest import target_for

pytestmark = [pytest.mark.load]


@pytest.mark.parametrize("shape", shapes.SHAPES)
def test_every_shape_is_bounded_by_users_and_duration(shape):
    # the daily shape plays a derived mix's day: quiet nights, a busy afternoon (peak 1.0)
    day = [round(0.05 + 0.95 * max(0.0, 1 - abs(i - 60) / 36), 3) for i in range(96)]
    stages = shapes.plan(shape, users=40, spawn_rate=4, duration_s=100, curve=day if shape == "daily" else None)
    ticks = [shapes.at(stages, t / 2) for t in range(0, 200)]
    assert all(t is not None and 1 <= t[0] <= 40 and t[1] > 0 for t in ticks), ticks
    assert shapes.at(stages, 100) is None and shapes.at(stages, 10_000) is None
    assert max(t[0] for t in ticks) == 40


def test_shapes_have_their_form():
    assert [shapes.at(shapes.plan("step", 40, 4, 100), t)[0] for t in (0, 30, 60, 90)] == [10, 20, 30, 40]
    spike = shapes.plan("spike", 50, 2, 100)
    assert [shapes.at(spike, t)[0] for t in (10, 50, 90)] == [10, 50, 10]
    assert shapes.at(spike, 50)[1] >= 50, "a spike arrives within about a second"
    ramp = shapes.plan("ramp", 30, 1, 60)
    assert shapes.at(ramp, 0) == (30, 1.0) and shapes.at(ramp, 45) == (30, 1)


def test_caps_and_durations():
    with pytest.raises(HarnessError, match="--users must be between"):
        shapes.plan("constant", shapes.MAX_USERS + 1, 1, 10)
    with pytest.raises(HarnessError, match="--duration must be between"):
        shapes.plan("soak", 10, 1, shapes.MAX_DURATION_S + 1)
    assert shapes.parse_duration("1h30m") == 5400 and shapes.parse_duration("90") == 90
    assert shapes.default_duration("soak") == 3600


DURATIONS_GOOD = ["90", "90s", "5m", "1h", "1h30m", "3h30m10s", "0"]
DURATIONS_BAD = ["", "5x", "1.5m", "m", "30m1h", "-5", "1h 30m"]


def test_durations_read_as_locust_reads_its_run_time():
    """Same answers as locust.util.timespan.parse_timespan, asked in a child: importing locust monkey-patches
    the process it runs in."""
    import json
    import subprocess
    import sys

    code = ("import json, sys; from locust.util.timespan import parse_timespan as p\n"
            "def f(t):\n    try: return p(t)\n    except ValueError: return None\n"
            "print(json.dumps([f(t) for t in json.loads(sys.argv[1])]))")
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(DURATIONS_GOOD + DURATIONS_BAD)],
                          capture_output=True, text=True, timeout=120, check=True)
    locust = json.loads(proc.stdout)
    assert locust == [90, 90, 300, 3600, 5400, 12610, 0] + [None] * len(DURATIONS_BAD)
    assert [shapes.parse_duration(t) for t in DURATIONS_GOOD] == locust[:len(DURATIONS_GOOD)]
    assert shapes.parse_duration(" 5M ") == 300 and shapes.parse_duration(90) == 90
    for bad in DURATIONS_BAD:
        with pytest.raises(HarnessError) as err:
            shapes.parse_duration(bad)
        assert repr(bad) in str(err.value) and "\n" not in str(err.value)


def _result(**actions):
    agg_lat = []
    out = {"actions": {}, "web_requests": 0, "target_web_requests": 100.0, "elapsed_s": 10.0}
    for name, (latencies, failures) in actions.items():
        count = len(latencies) + failures
        out["actions"][name] = {"count": count, "failures": failures, **slo.summarize(latencies, count, 10.0)}
        out["web_requests"] += count
        agg_lat += latencies
    total = sum(a["count"] for a in out["actions"].values())
    fails = sum(a["failures"] for a in out["actions"].values())
    out["aggregate"] = {"count": total, "failures": fails, **slo.summarize(agg_lat, total, 10.0)}
    return out


def test_gates_fail_exactly_where_the_threshold_is_crossed():
    gates = slo.read_gates()
    log_limit = gates["defaults"]["p50_ms"]
    result = _result(log=([log_limit + 1] * 30, 0), file=([log_limit - 1] * 30, 0))
    verdict = {g["gate"]: g for g in slo.evaluate(result, gates)}
    assert verdict["log.p50_ms"]["status"] == "failed" and "log: p50" in verdict["log.p50_ms"]["message"]
    assert verdict["file.p50_ms"]["status"] == "passed"
    assert verdict["log.p99_ms"]["status"] == "skipped", "30 samples cannot say what p99 is"


def test_error_rate_and_rate_ratio_gates():
    gates = {"aggregate": {"error_rate": 0.01, "rate_ratio": 0.8}}
    ok = _result(log=([10.0] * 99, 1))
    ok["web_requests"] = 80
    verdict = {g["gate"]: g for g in slo.evaluate(ok, gates)}
    assert verdict["aggregate.error_rate"]["status"] == "passed"
    assert verdict["aggregate.rate_ratio"]["status"] == "passed"
    bad = _result(log=([10.0] * 98, 2))
    bad["web_requests"] = 79
    verdict = {g["gate"]: g for g in slo.evaluate(bad, gates)}
    assert verdict["aggregate.error_rate"]["status"] == "failed"
    assert verdict["aggregate.rate_ratio"]["status"] == "failed"
    bad["target_web_requests"] = None
    assert {g["gate"]: g for g in slo.evaluate(bad, gates)}["aggregate.rate_ratio"]["status"] == "skipped"


def test_a_page_many_times_slower_than_the_rest_of_the_site_fails_its_relative_gate():
    gates = slo.read_gates()
    pages = {name: ([40.0 + i] * 10, 0) for i, name in enumerate(("log", "file", "summary", "tags"))}
    slow = _result(changeset=([1500.0] * 10, 0), archive=([3000.0] * 10, 0), **pages)
    verdict = {g["gate"]: g for g in slo.evaluate(slow, gates)}
    gate = verdict["changeset.p50_vs_site"]
    assert gate["status"] == "failed" and "the site's median page" in gate["message"], gate
    assert verdict["changeset.p50_ms"]["status"] == "passed", "1.5 s is within the absolute budget"
    assert "archive.p50_vs_site" not in verdict, "archives are built on the fly: no relative gate"
    assert all(verdict[f"{n}.p50_vs_site"]["status"] == "passed" for n in pages)
    # the whole machine slower (every page alike) is no finding; nor a page under the floor
    loaded = _result(changeset=([1500.0] * 10, 0), **{n: ([1200.0] * 10, 0) for n in pages})
    assert all(g["status"] == "passed" for g in slo.evaluate(loaded, gates) if g["metric"] == "p50_vs_site")
    fast = _result(changeset=([400.0] * 10, 0), **{n: ([10.0] * 10, 0) for n in pages})
    assert {g["gate"]: g for g in slo.evaluate(fast, gates)}["changeset.p50_vs_site"]["status"] == "passed"
    few = _result(changeset=([1500.0] * 3, 0), **pages)
    assert {g["gate"]: g for g in slo.evaluate(few, gates)}["changeset.p50_vs_site"]["status"] == "skipped"


def test_exact_percentiles():
    xs = list(range(1, 101))
    random.Random(1).shuffle(xs)
    s = slo.summarize(xs, 100, 10.0)
    assert (s["p50_ms"], s["p95_ms"], s["p99_ms"], s["rps"]) == (50.5, 95.05, 99.01, 10.0)


def test_every_named_mix_is_valid_and_paced(tmp_path):
    for name in mixes.read_mixes()["mixes"]:
        mix = mixes.get_mix(name, check_available=False)
        assert sum(mix["users"].values()) > 0 and all(p > 0 for p in mix["pace"].values())
    broken = tmp_path / "mixes.toml"
    broken.write_text(mixes.DEFAULT_MIXES.read_text().replace("CIBot = 7", "Robot = 7"))
    with pytest.raises(HarnessError, match="unknown user class 'Robot'"):
        mixes.get_mix("ci-polling", broken)
    broken.write_text(mixes.DEFAULT_MIXES.read_text() + "[mixes.mixed.actions.CIBot]\narchive = -1\n")
    with pytest.raises(HarnessError, match="actions.CIBot.archive must be a whole number"):
        mixes.get_mix("mixed", broken)


@pytest.mark.integration
def test_every_catalog_url_is_a_real_page(hgweb_server):
    target = target_for(hgweb_server)
    catalog = catalog_for(target)
    assert "hostile" not in catalog["repos"] and catalog["repos"]
    urls = [(name, p) for name, paths in catalog["actions"].items() for p in paths]
    assert {"index", "summary", "log", "changeset", "file", "raw_file", "archive", "graph", "annotate",
            "json_log"} <= set(catalog["actions"])
    rng = random.Random(3)
    sample = [(name, p) for name, paths in catalog["actions"].items() for p in rng.sample(paths, min(len(paths), 4))]
    assert len(sample) < len(urls) or len(urls) < 80
    with requests.Session() as s:
        bad = [(name, p, r.status_code) for name, p in sample
               if (r := s.get(target.url_for(p), timeout=60)).status_code != 200]
    assert not bad, bad


def test_harness_problems_are_exit_2_never_a_target_verdict(tmp_path):
    from hgharness.load.runner import LoadSpec, finish

    def run(spec=None, **extra):
        spec = spec or LoadSpec()
        d = tmp_path / str(len(list(tmp_path.iterdir())))
        d.mkdir()
        result = {**_result(log=([10.0] * 30, 0)), "workers": 0, "target_web_requests": 30, **extra}
        return finish(result, d, spec, 1.0, progress=lambda m: None)

    healthy = run()
    assert healthy.exit_code == 0 and not healthy.warnings
    crashed = run(exceptions=[{"count": 3, "msg": "KeyError: 'x'", "where": 'File "users.py", line 1'}])
    assert crashed.exit_code == 2 and "3 exception(s) in the load users" in crashed.detail
    missing = run(LoadSpec(workers=2), workers=1)
    assert missing.exit_code == 2 and "only 1 of 2 workers" in missing.detail
    late = run(generator_lag_ms={"ticks": 100, "p50": 80.0, "p95": 200.0, "p99": 250.0, "max": 300.0})
    assert late.exit_code == 0 and "load generator itself ran late" in late.warnings[0]


def _levels(rps_by_users: dict, p95_by_users: dict | None = None):
    """A capacity search played to its end against made-up measurements; returns its summary."""
    stages = shapes.plan("capacity", users=max(rps_by_users), spawn_rate=1, duration_s=10 * len(rps_by_users))
    search = shapes.CapacitySearch(stages, p95_ms=1000, error_rate=0.01, min_gain=0.05)

    def measure(start_s, end_s):
        users = next(s.users for s in stages if s.until_s >= end_s - 1e-9)
        return {"rps": rps_by_users[users], "count": 100, "error_rate": 0.0,
                "p95_ms": (p95_by_users or {}).get(users, 100)}

    t = 0.0
    while search.at(t, measure) is not None:
        t += 0.5
    return search.summary()


def test_capacity_search_stops_when_throughput_stops_growing_and_reports_the_knee():
    s = _levels({1: 10, 2: 19, 4: 30, 8: 31, 16: 29, 32: 60})
    assert [lv["users"] for lv in s["levels"]] == [1, 2, 4, 8, 16]  # two flat levels in a row: stop, 32 never ran
    assert s["capacity_rps"] == 31 and s["capacity_users"] == 8 and s["knee_users"] == 8
    assert "stopped growing at 16 users" in s["stopped"]


def test_capacity_search_stops_at_a_level_that_breaks_the_slo():
    s = _levels({1: 10, 2: 20, 4: 40, 8: 80}, p95_by_users={4: 1500})
    assert [lv["users"] for lv in s["levels"]] == [1, 2, 4]
    assert s["capacity_rps"] == 20 and s["capacity_users"] == 2  # 40 req/s came at a p95 over the limit
    assert "SLO broke at 4 users" in s["stopped"]


def test_capacity_search_of_a_site_that_keeps_scaling_runs_every_level():
    s = _levels({1: 10, 2: 20, 4: 40, 8: 80})
    assert s["capacity_rps"] == 80 and s["knee_users"] is None and "most users" in s["stopped"]


def test_capacity_search_refuses_levels_too_short_to_measure():
    with pytest.raises(HarnessError, match="too short for a capacity search"):
        shapes.plan("capacity", users=64, spawn_rate=1, duration_s=20)


@pytest.mark.integration
def test_an_ab_catalog_keeps_to_the_history_both_targets_served_when_the_run_began(hgweb_server):
    """upto (repository -> tip at the start of an A/B run): no URL names a later changeset (pushed to one target
    only by the checks or the traffic stage: a 404 on the other), and other repositories are left out."""
    from hgharness import hg

    target = target_for(hgweb_server)
    whole = catalog_for(target)
    name = "project" if "project" in whole["repos"] else whole["repos"][0]
    repo = hg.open_repo(Path(hgweb_server.repos_dir) / name)
    middle = repo[len(repo) // 2]
    later = {repo[r].hex().decode()[:12] for r in repo.revs(b"%d::", middle.rev())} - {middle.hex().decode()[:12]}
    catalog = catalog_for(target, upto={name: middle.hex().decode()})
    assert catalog["repos"] == [name]
    paths = [p for paths in catalog["actions"].values() for p in paths]
    assert any(middle.hex().decode()[:12] in p for p in paths)
    assert not [p for p in paths if any(node in p for node in later)]
    others = set(whole["repos"]) - {name}
    assert others and not [p for p in paths if p.split("/")[0] in others]
