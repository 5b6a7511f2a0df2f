"""The browser factory: the system chromedriver without Selenium Manager, a standalone W3C WebDriver as remote,
and one-line harness errors (exit 2) when no browser can be had."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from hgharness.browser import BrowserConfig, chrome_options, start_browser
from hgharness.errors import HarnessError
from tests.conftest import clean_env, run_cli, target_for
from tests.test_functional_flows import only_test, tripwire

pytestmark = [pytest.mark.functional, pytest.mark.integration]
CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium")


def path_with_only(tmp_path: Path, *exes: str) -> str:
    """A PATH holding just these executables (to take chromium or chromedriver away from the harness)."""
    d = tmp_path / "bin"
    d.mkdir(exist_ok=True)
    for exe in exes:
        (d / Path(exe).name).symlink_to(exe)
    return str(d)


def test_local_browser_uses_the_system_chromedriver_and_never_selenium_manager(tmp_path, monkeypatch):
    from selenium import webdriver
    from selenium.common.exceptions import NoSuchDriverException

    manager, marker = tripwire(tmp_path)
    monkeypatch.setenv("SE_MANAGER_PATH", str(manager))
    browser = start_browser(BrowserConfig.from_env(env={}))
    try:
        browser.visit("data:text/html,<title>ok</title><p>hello</p>", "probe")
        assert browser.driver.title == "ok"
        assert browser.driver.service.path == CHROMEDRIVER
    finally:
        browser.quit()
    assert not marker.exists(), "Selenium Manager was run"
    assert not browser.tmp.exists(), "the browser's temp home and profile were left behind"
    # the tripwire is live: Selenium's default path (no driver named) does run it, and fails
    with pytest.raises(NoSuchDriverException):
        webdriver.Chrome(options=chrome_options(BrowserConfig()))
    assert "--browser chrome" in marker.read_text()


@pytest.mark.parametrize("keep, missing", [(CHROMEDRIVER, "Chromium"), (CHROMIUM, "chromedriver")])
def test_missing_browser_part_is_one_line_naming_the_package_and_exit_2(tmp_path, keep, missing):
    r = run_cli("functional", "--target", "http://127.0.0.1:9/", env=clean_env(PATH=path_with_only(tmp_path, keep)))
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and missing in lines[0] and "apt-get install chromium chromium-driver" in lines[0], lines
    assert r.stdout == ""


def test_missing_chromedriver_inside_the_suite_is_a_harness_error(hgweb_server, tmp_path):
    from hgharness.suites.runner import run_pytest_stage

    select = "test_index_lists_every_repository"
    stage = run_pytest_stage("functional", ["suites/functional"], target_for(hgweb_server), tmp_path,
                             extra_args=["-k", select], progress=lambda msg: None,
                             extra_env={"PATH": path_with_only(tmp_path, CHROMIUM)})
    assert stage.exit_code == 2 and "chromedriver not found" in stage.detail, stage
    assert only_test(stage, select)["outcome"] == "error"


def test_unreachable_remote_webdriver_is_one_line_and_exit_2():
    from hgharness.embedded import free_port

    url = f"http://127.0.0.1:{free_port()}/wd/hub"
    r = run_cli("functional", "--target", "http://127.0.0.1:9/", "--selenium-remote", url)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and url in lines[0] and "unreachable" in lines[0], lines


def test_flows_drive_a_standalone_w3c_webdriver(hgweb_server, tmp_path):
    """chromedriver as a standalone W3C server on loopback stands in for a Selenium Grid."""
    from hgharness.embedded import free_port
    from hgharness.procs import ManagedProcess, wait_until
    from hgharness.suites.functional.stage import run_functional

    port, log, home = free_port(), tmp_path / "chromedriver.log", tmp_path / "home"
    home.mkdir()
    scratch = Path(tempfile.mkdtemp(prefix="hgb-", dir="/tmp"))  # the remote's browsers: short socket path, removed
    server = ManagedProcess([CHROMEDRIVER, f"--port={port}", f"--log-path={log}"], "chromedriver",
                            env={**os.environ, "HOME": str(home), "TMPDIR": str(scratch)})
    try:
        import requests

        def ready():
            try:
                return requests.get(f"http://127.0.0.1:{port}/status", timeout=2).json()["value"]["ready"]
            except (requests.RequestException, ValueError, KeyError):
                return False

        wait_until(ready, timeout=30, what="standalone chromedriver")
        select = "test_changeset_shows_author_description_and_files or test_graph_draws_the_history"
        stage = run_functional(target_for(hgweb_server), tmp_path / "run", workers=1, extra_args=["-k", select],
                               remote=f"http://127.0.0.1:{port}", progress=lambda msg: None)
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    assert (stage.exit_code, stage.counts["passed"]) == (0, 2), stage
    assert "InitSession" in log.read_text(), "the flows did not create their session on the remote WebDriver"
    assert {"browser.rev", "browser.graph"} <= set(stage.actions)


def test_browser_config_reads_window_and_timeout_and_rejects_bad_values():
    config = BrowserConfig.from_env(env={"HGHARNESS_BROWSER_WINDOW": "800x600", "HGHARNESS_BROWSER_TIMEOUT": "7"})
    assert (config.window, config.timeout, config.mode) == ((800, 600), 7.0, "local")
    assert BrowserConfig.from_env(env={}, remote="http://grid:4444/wd/hub").mode == "remote"
    for env in ({"HGHARNESS_BROWSER_WINDOW": "big"}, {"HGHARNESS_BROWSER_TIMEOUT": "soon"},
                {"HGHARNESS_SELENIUM_REMOTE": "grid:4444"}):
        with pytest.raises(HarnessError):
            BrowserConfig.from_env(env=env)


def test_remote_credentials_never_appear_in_messages():
    from hgharness.browser import check_remote
    from hgharness.embedded import free_port

    url = f"http://qa:s3cret-grid-pw@127.0.0.1:{free_port()}/wd/hub"
    with pytest.raises(HarnessError) as e:
        check_remote(BrowserConfig.from_env(env={}, remote=url).remote)
    assert "s3cret-grid-pw" not in str(e.value) and "127.0.0.1" in str(e.value)


def test_timings_are_summed_up_per_action(tmp_path):
    from hgharness.suites.functional.stage import aggregate_timings

    recs = [{"action": "rev", "ttfb_ms": t, "dcl_ms": 2 * t, "load_ms": 3 * t, "status": 200} for t in (10, 20, 30)]
    recs.append({"action": "file", "ttfb_ms": 5, "dcl_ms": 6, "load_ms": 7, "status": 500})
    (tmp_path / "functional-timings-gw0.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs[:2]))
    (tmp_path / "functional-timings-gw1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs[2:]) + "{half")
    actions = aggregate_timings(tmp_path)
    assert actions["browser.rev"]["count"] == 3 and actions["browser.rev"]["p50_ms"] == 60
    assert actions["browser.rev"]["ttfb_p50_ms"] == 20 and actions["browser.rev"]["max_ms"] == 90
    assert actions["browser.file"]["failures"] == 1


def test_a_browser_that_dies_is_a_harness_error_not_a_target_failure():
    import psutil

    browser = start_browser(BrowserConfig.from_env(env={}))
    try:
        browser.visit("data:text/html,<p>alive</p>", "probe")
        singleton = browser.tmp / "profile" / "SingletonSocket"
        # Chromium's socket dir, left behind by a killed browser, lies in the browser's own directory
        assert os.readlink(singleton).startswith(str(browser.tmp) + "/")
        for child in psutil.Process(browser.driver.service.process.pid).children(recursive=True):
            try:
                child.kill()  # Chromium, not chromedriver
            except psutil.NoSuchProcess:
                pass  # a helper that exited with its parent, killed a moment before
        with pytest.raises(HarnessError, match="browser"):
            browser.visit("data:text/html,<p>gone</p>", "probe")
    finally:
        browser.quit()


def test_a_remote_url_that_is_no_webdriver_is_a_harness_error(hgweb_server):
    from hgharness.browser import check_remote

    with pytest.raises(HarnessError, match="not a W3C WebDriver endpoint"):
        check_remote(hgweb_server.url)


def test_leaving_a_page_is_seen_however_chromedriver_reports_the_old_document():
    """navigate() waits until the old document is gone: a stale element, or chromedriver's "Node with given id
    does not belong to the document" (which once failed a Kallithea flow as if the site were broken)."""
    from selenium.common.exceptions import WebDriverException

    from hgharness.browser import _gone

    browser = start_browser(BrowserConfig.from_env(env={}))
    try:
        browser.visit("data:text/html,<p id=a>one</p>", "probe")
        old = browser.driver.find_element("css selector", "html")
        assert not _gone(old)
        browser.visit("data:text/html,<p id=b>two</p>", "probe")
        assert _gone(old)
    finally:
        browser.quit()

    class TornDown:  # what chromedriver sometimes answers for a node of a document being replaced
        def __init__(self, message):
            self.message = message

        def is_enabled(self):
            raise WebDriverException(self.message)

    assert _gone(TornDown('unknown error: unhandled inspector error: {"code":-32000,"message":"Node with given '
                          'id does not belong to the document"}'))
    with pytest.raises(WebDriverException, match="chrome not reachable"):
        _gone(TornDown("chrome not reachable"))  # anything else is not "the page changed"


def test_flows_run_on_debians_headless_shell_too(hgweb_server, tmp_path, monkeypatch):
    """HGHARNESS_CHROMIUM=/usr/bin/chromium-headless-shell (lighter, the old headless mode): the flows pass,
    archive downloads included (chromedriver's own profile takes the download settings)."""
    from hgharness.suites.functional.stage import run_functional

    shell = "/usr/bin/chromium-headless-shell"
    if not os.access(shell, os.X_OK):
        pytest.skip("chromium-headless-shell is not installed (scripts/setup.sh installs it)")
    monkeypatch.setenv("HGHARNESS_CHROMIUM", shell)
    select = "test_changeset_shows_author_description_and_files or test_zip_archive_download_holds_the_revision"
    stage = run_functional(target_for(hgweb_server), tmp_path / "run", workers=1, extra_args=["-k", select],
                           progress=lambda msg: None)
    assert (stage.exit_code, stage.counts["passed"]) == (0, 2), stage
