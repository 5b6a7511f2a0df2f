"""Every page kind of the site adapter has a row in one of the check tables (suites/headless/routes.py)."""

import pytest

from hgharness.suites.headless import routes

pytestmark = [pytest.mark.smoke, pytest.mark.headless, pytest.mark.nondestructive]


def test_every_page_kind_has_a_check(target):
    missing = sorted(set(target.site.ROUTES) - routes.covered())
    assert not missing, f"page kinds of site {target.site_name!r} without a check: {missing}"
