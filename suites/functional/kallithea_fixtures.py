"""Fixtures for the Kallithea browser flows: the site's page objects (logged out at the start of each flow). The
server state the flows make through the API (repositories, users) comes from suites/support/kallithea_resources."""

from __future__ import annotations

import pytest

from hgharness.suites.support.kallithea_resources import admin_api, cleanup, unique, user  # noqa: F401  (fixtures)


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
