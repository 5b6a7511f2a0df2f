"""Security suite plugin: shares the headless plan, marker discipline and the count of checks."""

from __future__ import annotations

from hgharness.suites.headless.suite_plugin import (  # noqa: F401  (fixtures, hooks)
    check_markers,
    checked_repos,
    plan,
    pytest_runtest_call,
    terminal_summary,
)


def pytest_collection_modifyitems(config, items):
    check_markers(items)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    terminal_summary(terminalreporter, config)
