"""Fixtures for the browser flows: one browser per pytest-xdist worker, the site's page objects, the subjects.

Options (or environment): --selenium-remote URL (HGHARNESS_SELENIUM_REMOTE) for a W3C Remote WebDriver or
Selenium Grid instead of local Chromium; --browser-window WxH (HGHARNESS_BROWSER_WINDOW); --browser-timeout S
(HGHARNESS_BROWSER_TIMEOUT, the one base timeout every wait scales). The browser's failure artifacts and the
Navigation Timing of every page go into the run directory (HGHARNESS_RUN_DIR).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_addoption(parser):
    g = parser.getgroup("hgharness-browser", "hgharness browser")
    g.addoption("--selenium-remote", default=None,
                help="W3C Remote WebDriver / Selenium Grid URL (env HGHARNESS_SELENIUM_REMOTE; default: local Chromium)")
    g.addoption("--browser-window", default=None, help="WIDTHxHEIGHT (env HGHARNESS_BROWSER_WINDOW; default 1280x900)")
    g.addoption("--browser-timeout", default=None,
                help="base timeout in seconds, scaled per wait (env HGHARNESS_BROWSER_TIMEOUT; default 15)")


@pytest.fixture(scope="session")
def browser_config(pytestconfig):
    from hgharness.browser import BrowserConfig

    return BrowserConfig.from_env(remote=pytestconfig.getoption("selenium_remote", None),
                                  window=pytestconfig.getoption("browser_window", None),
                                  timeout=pytestconfig.getoption("browser_timeout", None))


def timings_path(config) -> Path | None:
    run_dir = config.getoption("run_dir", None) or os.environ.get("HGHARNESS_RUN_DIR")
    if not run_dir:
        return None
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    return Path(run_dir) / f"functional-timings-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.jsonl"


@pytest.fixture(scope="session")
def worker_browser(browser_config, target, pytestconfig):
    """One browser for the whole session of this worker (starting one costs about a second).

    Held in a dict so that only the per-test `browser` fixture value offers failure artifacts (once).
    """
    from hgharness.browser import start_browser

    browser = start_browser(browser_config, target, timings_path(pytestconfig))
    yield {"browser": browser}
    browser.quit()


@pytest.fixture
def browser(worker_browser):
    """The worker's browser, its console emptied of earlier tests; a JavaScript error left at the end fails."""
    b = worker_browser["browser"]
    b.reset()
    yield b
    b.check_console()


@pytest.fixture
def downloads(browser):
    """The directory the browser saves downloads into (only a local browser's downloads can be read)."""
    if browser.config.remote:
        pytest.skip("downloads land on the remote browser's machine; run locally to check archives")
    return browser.downloads


@pytest.fixture(scope="session")
def subjects(fixture_repos):
    from hgharness.suites.functional.subjects import Subjects

    return Subjects(fixture_repos)


@pytest.fixture
def hgweb(browser, target):
    from hgharness.suites.pages.hgweb import HgwebSite

    if target.site_name != "hgweb":
        pytest.skip(f"hgweb flows: the target is a {target.site_name!r} site")
    return HgwebSite(browser, target)
