"""Headless suite plugin: the check plan and its rows, the crawler's page budget, marker discipline, the count of
checks, and the Kallithea resources some checks make through the API."""

from __future__ import annotations

from hgharness.suites.headless.crawler import DEFAULT_PAGES
from hgharness.suites.support.kallithea_resources import (  # noqa: F401  (fixtures)
    admin_api,
    fork,
    run_tag,
    site_admin,
    user,
)
from hgharness.suites.support.suite_plugin import (  # noqa: F401  (fixtures, hooks)
    check_markers,
    checked_repos,
    plan,
    pytest_runtest_call,
    terminal_summary,
)
from hgharness.suites.support.table import pytest_generate_tests  # noqa: F401  (hook)


def pytest_addoption(parser):
    parser.addoption("--crawl-pages", type=int, default=None,
                     help=f"pages the crawler visits at most (env HGHARNESS_CRAWL_PAGES; default {DEFAULT_PAGES})")


def pytest_collection_modifyitems(config, items):
    check_markers(items)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    terminal_summary(terminalreporter, config)
