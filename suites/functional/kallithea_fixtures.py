"""Fixtures for the Kallithea browser flows: the site's page objects (logged out at the start of each flow),
and a scratch repository created through the API for flows that change things (deleted afterwards)."""

from __future__ import annotations

import secrets

import pytest


@pytest.fixture(scope="session")
def user_api_key_redacted(target):
    """The pages a logged-in user sees carry the user's API key: learn it once so artifacts redact it."""
    if target.site_name == "kallithea" and target.has_credentials():
        web = target.site.web(target)
        web.login(target.username, target.password)
        web.http.close()


@pytest.fixture
def kallithea(browser, target, user_api_key_redacted):
    from hgharness.suites.pages.kallithea import KallitheaSite

    if target.site_name != "kallithea":
        pytest.skip(f"Kallithea flows: the target is a {target.site_name!r} site")
    site = KallitheaSite(browser, target)
    site.forget_session()
    return site


@pytest.fixture
def user(target):
    if not target.has_credentials():
        pytest.skip("needs the target's user: set HGHARNESS_USERNAME and HGHARNESS_PASSWORD")
    return target.username, target.password


@pytest.fixture
def admin_api(target):
    if not target.api_key:
        pytest.skip("needs an admin API key for the site: set HGHARNESS_API_KEY")
    return target.site


@pytest.fixture
def unique():
    """unique("prefix") -> a name no other run uses."""
    return lambda prefix: f"{prefix}-{secrets.token_hex(3)}"


@pytest.fixture
def cleanup(target):
    """cleanup(repo_name): delete that repository through the API after the test (forks first)."""
    names = []
    yield names.append
    for name in reversed(names):
        try:
            target.site.delete_repo(target, name)
        except Exception:  # the test may have failed before creating it
            pass
