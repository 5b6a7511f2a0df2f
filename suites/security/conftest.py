"""Security suite plugin: shares the headless plan and its rows, marker discipline and the count of checks; the
account checks' resources are made through the site's API."""

from __future__ import annotations

from hgharness.suites.support.kallithea_resources import (  # noqa: F401  (fixtures)
    admin_api,
    other_user,
    private_repos,
    public_scratch,
    run_tag,
    site_admin,
    user,
    web_as,
)
from hgharness.suites.support.suite_plugin import (  # noqa: F401  (fixtures, hooks)
    check_markers,
    checked_repos,
    plan,
    pytest_runtest_call,
    terminal_summary,
)
from hgharness.suites.support.table import pytest_generate_tests  # noqa: F401  (hook)


def pytest_collection_modifyitems(config, items):
    check_markers(items)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    terminal_summary(terminalreporter, config)
