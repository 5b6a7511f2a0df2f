"""The browser flows against real hgweb targets in real Chromium: they pass on a healthy target (through the CLI,
two workers, one browser each); each fails, with a screenshot in the run directory, against a target that breaks
what it checks; a JavaScript error fails a flow unless the target allows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import clean_env, hgweb, run_cli, target_for

pytestmark = [pytest.mark.integration, pytest.mark.functional]
PNG = b"\x89PNG\r\n\x1a\n"


def flows(server, run_dir: Path, select: str, **target_overrides) -> dict:
    """The functional stage, one worker, only the flows matching `select`."""
    from hgharness.suites.functional.stage import run_functional

    return run_functional(target_for(server, **target_overrides), run_dir, workers=1, extra_args=["-k", select],
                          progress=lambda msg: None)


def only_test(stage: dict, select: str) -> dict:
    found = [t for t in stage.tests if select in t["id"]]
    assert len(found) == 1, f"expected one test matching {select!r}: {stage.tests}"
    return found[0]


def tripwire(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in for Selenium Manager that records being run and fails (so nothing is ever downloaded)."""
    marker = tmp_path / "selenium-manager-ran"
    script = tmp_path / "selenium-manager"
    script.write_text(f'#!/bin/sh\necho "$@" >> "{marker}"\nexit 1\n')
    script.chmod(0o755)
    return script, marker


def test_flows_pass_on_the_healthy_target_with_a_browser_per_worker(hgweb_server, tmp_path):
    manager, marker = tripwire(tmp_path)
    r = run_cli("functional", "--target", hgweb_server.url, "--runs-dir", tmp_path / "runs", "--run-id", "ok",
                env=clean_env(HGHARNESS_FIXTURE_DIR=hgweb_server.repos_dir, SE_MANAGER_PATH=manager))
    assert r.returncode == 0, r.stdout + r.stderr
    run_dir = tmp_path / "runs" / "ok"
    summary = json.loads((run_dir / "summary.json").read_text())
    [stage] = summary["stages"]
    assert (stage["name"], stage["status"], stage["counts"]["failed"]) == ("functional", "passed", 0)
    assert stage["counts"]["passed"] >= 15, stage["counts"]
    assert {"browser.index", "browser.summary", "browser.rev", "browser.file", "browser.annotate"} <= set(
        summary["actions"]), summary["actions"].keys()
    assert all(a["p50_ms"] > 0 and a["ttfb_p50_ms"] > 0 for a in summary["actions"].values())
    assert sorted(p.name for p in run_dir.glob("functional-timings-*.jsonl")) == [
        "functional-timings-gw0.jsonl", "functional-timings-gw1.jsonl"]
    assert not marker.exists(), "Selenium Manager was run"
    assert not hgweb_server.tracebacks()


@pytest.mark.parametrize("wrap, select, page_shows", [
    ("wrong_author", "test_changeset_shows_author_description_and_files", "Mallory Impostor"),
    ("truncated_file", "test_walk_down_to_a_file_shows_its_content", None),
])
def test_a_flow_fails_with_a_screenshot_against_a_target_that_breaks_it(seed_repos, tmp_path, wrap, select,
                                                                        page_shows):
    with hgweb(seed_repos, wrap=f"tests.functional_broken:{wrap}") as server:
        stage = flows(server, tmp_path, select)
    assert (stage.status, stage.exit_code) == ("failed", 1), stage.detail
    test = only_test(stage, select)
    assert test["outcome"] == "failed" and not test["harness_error"], test
    shots = [Path(a) for a in test["artifacts"] if a.endswith(".png")]
    assert shots and shots[0].is_relative_to(tmp_path / "artifacts"), test["artifacts"]
    assert shots[0].read_bytes()[:8] == PNG
    if page_shows:
        html = next(Path(a) for a in test["artifacts"] if a.endswith("page.html"))
        assert page_shows in html.read_text()


def test_javascript_error_fails_a_flow_unless_the_target_allows_it(seed_repos, tmp_path):
    select = "test_index_lists_every_repository"
    with hgweb(seed_repos, wrap="tests.functional_broken:js_error") as server:
        strict = flows(server, tmp_path / "strict", select)
        allowed = flows(server, tmp_path / "allowed", select, allow_js_errors=True)
    test = only_test(strict, select)
    assert strict.exit_code == 1 and "JavaScript error" in test["message"], test
    console = next(Path(a) for a in test["artifacts"] if a.endswith("console.log"))
    assert "hgharnessBrokenTargetUndefinedFunction" in console.read_text()
    assert (allowed.exit_code, allowed.counts["passed"]) == (0, 1), allowed


def test_a_page_whose_own_style_sheet_is_missing_fails_its_flow(seed_repos, tmp_path):
    """A resource of the site itself that fails to load (here the CSS: 404) fails the flow that saw it;
    the favicon browsers ask for on their own, and other sites' resources, do not."""
    select = "test_index_lists_every_repository"
    with hgweb(seed_repos, wrap="tests.functional_broken:stylesheet_missing") as server:
        stage = flows(server, tmp_path, select)
    test = only_test(stage, select)
    assert stage.exit_code == 1 and "failed to load" in test["message"] and ".css" in test["message"], test
