"""Accounts: logging in with the right password works, a wrong one does not, and logging out ends the session.

Whether a session is logged in is asked of the site (a page only logged-in users may open), never assumed from
the login answer alone.
"""

import secrets

import pytest

pytestmark = [pytest.mark.headless, pytest.mark.nondestructive, pytest.mark.needs("accounts")]


@pytest.fixture
def web(target):
    if not target.has_credentials():
        pytest.skip("needs the target's user: set HGHARNESS_USERNAME and HGHARNESS_PASSWORD")
    w = target.site.web(target)
    yield w
    w.http.close()


def test_login_with_the_right_password(target, web):
    assert not web.logged_in(), "a fresh session is already logged in"
    assert web.login(target.username, target.password), f"login as {target.username} was refused"
    assert web.logged_in(), "the site accepted the login but the session is not logged in"


def test_logout_ends_the_session(target, web):
    assert web.login(target.username, target.password), f"login as {target.username} was refused"
    web.logout()
    assert not web.logged_in(), "still logged in after logging out"


def test_login_with_a_wrong_password_is_refused(target, web):
    wrong = secrets.token_urlsafe(12)
    assert not web.login(target.username, wrong), "login with a wrong password was accepted"
    assert not web.logged_in(), "a refused login left the session logged in"


def test_login_of_an_unknown_user_is_refused(target, web):
    assert not web.login(f"nobody-{secrets.token_hex(4)}", secrets.token_urlsafe(12)), "unknown user logged in"
    assert not web.logged_in(), "a refused login left the session logged in"


def test_wrong_password_shows_an_error(target, web):
    r = web.http.post(web.url("login"), data={"username": target.username, "password": secrets.token_urlsafe(12),
                                               "_session_csrf_secret_token": web.token()},
                      allow_redirects=False, timeout=60)
    assert r.status_code == 200, f"wrong password: HTTP {r.status_code}, expected the login form again"
    assert "invalid" in r.text.lower(), "the login form does not say the credentials were wrong"


@pytest.mark.parametrize("kind", ["my_account", "repo_create", "admin"])
def test_pages_for_users_send_anonymous_visitors_to_login(target, web, kind):
    r = web.get(kind)
    assert r.status_code == 302 and "login" in r.headers.get("Location", ""), \
        f"{kind} for an anonymous visitor: HTTP {r.status_code} {r.headers.get('Location', '')}"
