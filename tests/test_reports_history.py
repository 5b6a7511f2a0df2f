"""`hgharness report history` over real runs of two targets, a flaky check, and `--baseline last-passing`.

What is real: five `hgharness run --stages load` runs (2 s of Locust each, pushes included) against one
embedded hgweb on a private copy of the fixture set, with --build-id: three of the unnamed target http://127.0.0.1:PORT/ and two of the targets.toml entry `site`
(the same server as http://localhost:PORT/, the URL a new deployment of `site` might have).
What is edited: one more run directory, a copy of the second real run of the first target with one passed
check (an SLO gate) turned failed and its verdict failed, the build id kept: the flaky check made on purpose.
"""

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from hgharness.reports.schema import validate_summary
from tests.conftest import clean_env, copy_repos, hgweb, run_cli
from tests.reports_helpers import assert_rendered

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("reports-history")]

FLIPPED = "load::aggregate.error_rate"  # every load run has it


@pytest.fixture(scope="module")
def server(seed_repos, tmp_path_factory):
    """The load mix pushes: its own server, on a copy of the fixture set."""
    with hgweb(copy_repos(seed_repos, tmp_path_factory.mktemp("repos") / "repos")) as server:
        yield server


def _env(server, **extra) -> dict:
    return clean_env(HGHARNESS_USERNAME=server.username, HGHARNESS_PASSWORD=server.password.reveal(),
                     **extra)


def _run(runs: Path, server, run_id: str, build: str, *target) -> dict:
    """A real run. Its verdict is the target's (on a loaded machine a rate gate may fail): any but an error."""
    proc = run_cli("run", "--stages", "load", *target, "--runs-dir", runs, "--run-id", run_id, "--build-id", build,
                   "--quiet", env=_env(server, HGHARNESS_LOAD_DURATION="3"), timeout=120)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return json.loads((runs / run_id / "summary.json").read_text())


def _flip(runs: Path, src: str, dest: str, check: str, build: str | None = None) -> None:
    """A copy of a real run where `check` failed instead of passing (same build unless `build` is given)."""
    shutil.copytree(runs / src, runs / dest)
    path = runs / dest / "summary.json"
    s = json.loads(path.read_text())
    last = max(dt.datetime.fromisoformat(json.loads(p.read_text())["started"]) for p in runs.glob("*/summary.json"))
    test = next(t for t in s["tests"] if t["id"] == check)
    assert test["outcome"] == "passed", f"{check} did not pass in the real run {src}: nothing to flip"
    test.update(outcome="failed", message="edited for the flaky-check test")
    s.update(run_id=dest, verdict="failed", exit_code=1, started=(last + dt.timedelta(seconds=1)).isoformat())
    if build:
        s["build_id"] = build
    path.write_text(json.dumps(s, indent=2))
    (runs / dest / "index.html").unlink()


@pytest.fixture(scope="module")
def toml(server, tmp_path_factory) -> Path:
    """targets.toml naming the server `site` under its localhost URL."""
    path = tmp_path_factory.mktemp("config") / "targets.toml"
    path.write_text(f'[targets.site]\nurl = "{server.url.replace("127.0.0.1", "localhost")}"\n'
                    'site = "hgweb"\n')
    return path


@pytest.fixture(scope="module")
def runs(server, toml, tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("history") / "runs"
    a = ("--target", server.url)
    b = ("--target", "site", "--config", toml)
    for run_id, build, target in (("a1", "b1", a), ("s1", "s-7", b), ("a2", "b1", a), ("s2", "s-8", b),
                                  ("a3", "b2", a)):
        assert _run(runs, server, run_id, build, *target)["build_id"] == build
    _flip(runs, "a2", "a4-flipped", FLIPPED)
    return runs


def _history(runs: Path, out: Path):
    proc = run_cli("report", "history", runs, "--out", out, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc, out.read_text(encoding="utf-8"), json.loads(out.with_suffix(".json").read_text())


def test_history_of_two_targets_shows_verdicts_builds_trends_and_the_flaky_check(runs, server, tmp_path):
    for d in runs.iterdir():  # --build-id is recorded, and the schema knows it
        s = json.loads((d / "summary.json").read_text())
        assert validate_summary(s) == [], d.name
        assert s["build_id"]
    proc, page, data = _history(runs, tmp_path / "out" / "history.html")
    targets = {t["target"]: t for t in data["targets"]}
    assert set(targets) == {server.url, "site"}
    a = targets[server.url]
    assert [r["run_id"] for r in a["runs"]] == ["a1", "a2", "a3", "a4-flipped"]
    verdicts = {d.name: json.loads((d / "summary.json").read_text())["verdict"] for d in runs.iterdir()}
    assert [r["verdict"] for r in a["runs"]] == [verdicts[r] for r in ("a1", "a2", "a3")] + ["failed"]
    assert [r["build_id"] for r in a["runs"]] == ["b1", "b1", "b2", "b1"]
    assert all(r["duration_s"] > 0 and r["actions"] for r in a["runs"])
    for key, ids in ((server.url, ("a1", "a2", "a3")), ("site", ("s1", "s2"))):
        passing = [i for i in ids if verdicts[i] == "passed"]  # real runs: a loaded machine may fail a gate
        assert (targets[key]["last_passing"] or {}).get("run_id") == (passing[-1] if passing else None)
    assert targets["site"]["runs"][0]["url"].startswith("http://localhost:")
    mine = [f for f in data["flaky"] if f["id"] == FLIPPED]
    assert len(mine) == 1 and mine[0]["target"] == server.url and mine[0]["build"] == "b1"
    assert "a2" in mine[0]["passed"] and mine[0]["failed"] == ["a4-flipped"]
    assert f"FLAKY {FLIPPED} on build b1" in proc.stdout
    # the page: both targets, their runs linked to their own reports, p50/p95 trends, the flaky mark
    assert page.count('<section class="target"') == 2
    assert "a1/index.html" in page and "s2/index.html" in page
    assert page.count("<title>p50 per action, run by run</title>") == 2
    assert page.count("<title>p95 per action, run by run</title>") == 2
    assert FLIPPED in page and 'class="flaky"' in page and f"{len(data['flaky'])} flaky check(s)" in page
    assert "<script" not in page.lower()


def test_the_flaky_mark_needs_the_same_build(runs, tmp_path):
    """Without the flip the mark is gone; the same flip on another build is a failure, not flakiness."""
    other = tmp_path / "runs"
    shutil.copytree(runs, other, ignore=shutil.ignore_patterns("a4-flipped"))
    _, page, data = _history(other, other / "history.html")
    assert FLIPPED not in {f["id"] for f in data["flaky"]}
    assert f"{len(data['flaky'])} flaky check(s)" in page and (data["flaky"] or 'class="flaky"' not in page)
    _flip(other, "a2", "a5-other-build", FLIPPED, build="b3")
    _, page, data = _history(other, other / "history.html")
    assert FLIPPED not in {f["id"] for f in data["flaky"]}
    assert [r["verdict"] for r in data["targets"][0]["runs"]][-1] == "failed"


def test_headless_chromium_renders_the_history_without_console_errors(runs, tmp_path):
    from hgharness.browser import BrowserConfig, start_browser

    out = tmp_path / "history.html"
    _, _, data = _history(runs, out)
    browser = start_browser(BrowserConfig.from_env(window="1280x1000"))
    try:
        d = browser.driver
        d.get(out.as_uri())
        assert d.title == f"hgharness history: 6 runs, {len(data['flaky'])} flaky"
        assert d.find_element("id", "verdict").text.startswith("6 runs of 2 target(s)")
        flaky = d.find_element("css selector", "table.flaky")
        assert flaky.is_displayed() and FLIPPED in flaky.text
        assert d.execute_script("return document.querySelectorAll('script').length") == 0
        assert_rendered(browser, 4, "polyline, circle", tmp_path / "history-screenshot.png", 8000)
    finally:
        browser.quit()


def test_a_missing_or_empty_runs_directory_is_one_line_exit_2(tmp_path):
    for path in (tmp_path / "nothing", tmp_path):
        proc = run_cli("report", "history", path, timeout=60)
        assert proc.returncode == 2
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert "does not exist" in run_cli("report", "history", tmp_path / "nothing", timeout=60).stderr


def _passed(runs: Path, *ids) -> str:
    passed = [i for i in ids if json.loads((runs / i / "summary.json").read_text())["verdict"] == "passed"]
    if not passed:
        pytest.skip(f"none of the real runs {ids} passed (a loaded machine failed a rate gate): no baseline")
    return passed[-1]


def test_baseline_last_passing_is_the_url_of_the_targets_last_passing_run(runs, server, toml, tmp_path):
    """`site` is deployed again, now at 127.0.0.1: its last passing run (at localhost) is the baseline."""
    _passed(runs, "s1", "s2")
    moved = tmp_path / "targets.toml"
    moved.write_text(toml.read_text().replace("localhost", "127.0.0.1"))
    mine = tmp_path / "runs"
    shutil.copytree(runs, mine)
    env = _env(server, HGHARNESS_LOAD_DURATION="2")
    proc = run_cli("run", "--stages", "load", "--target", "site", "--config", moved, "--baseline", "last-passing",
                   "--runs-dir", mine, "--run-id", "ab", "--build-id", "s-9", env=env, timeout=120)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    localhost = server.url.replace("127.0.0.1", "localhost")
    assert f"baseline last-passing: {localhost}" in proc.stdout
    assert json.loads((mine / "ab" / "summary.json").read_text())["baseline"]["url"] == localhost


@pytest.mark.parametrize("case", ["no run", "none passed", "own url"])
def test_baseline_last_passing_without_one_is_one_line_exit_2(case, runs, server, toml, tmp_path):
    mine = tmp_path / "runs"
    target = ["--target", "site", "--config", toml]
    if case == "no run":
        mine.mkdir()
        expect = "holds no run"
    elif case == "none passed":
        shutil.copytree(runs / "a4-flipped", mine / "a4-flipped")
        target = ["--target", server.url]
        expect = f"no passing run of target {server.url}"
    else:
        last = _passed(runs, "s1", "s2")
        shutil.copytree(runs / last, mine / last)
        expect = "the candidate's own URL"
    before = sorted(p.name for p in mine.iterdir())
    proc = run_cli("run", "--stages", "load", *target, "--baseline", "last-passing", "--runs-dir", mine,
                   env=_env(server), timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and expect in proc.stderr, proc.stderr
    assert sorted(p.name for p in mine.iterdir()) == before  # refused before a run directory was made


def test_the_trend_charts_count_runs_in_whole_ticks():
    """Two runs on a numeric axis drew ticks 0.5 and 1.5: runs are counted in whole ticks."""
    import re

    from hgharness.reports import svg

    pts = [("p50", [(1, 10.0), (2, 20.0)])]
    ticks = re.findall(r'text-anchor="middle">([^<]+)</text>', svg.line_chart(pts, "t", shift_x=False))
    assert "0.50" in ticks  # without integer_x: the numeric axis's own ticks
    ticks = re.findall(r'text-anchor="middle">([^<]+)</text>', svg.line_chart(pts, "t", shift_x=False, integer_x=True))
    assert ticks and all("." not in t for t in ticks), ticks
