"""Logging in and out."""

from __future__ import annotations

from hgharness.suites.pages.base import Locator, css, norm
from hgharness.suites.pages.kallithea.common import KallitheaPage
from selenium.webdriver.common.by import By


class LoginPage(KallitheaPage):
    ROUTE = "login"
    LOADED = css("form input#sign_in")
    _username = css("div.panel input#username")
    _password = css("div.panel input#password")
    _submit = css("div.panel input#sign_in")
    _errors = css("span.error-message")

    def login(self, username: str, password) -> KallitheaPage:
        """Fill in the form and sign in; returns the page the site shows next (LoginPage again on refusal)."""
        from hgharness.suites.pages.kallithea.repos import IndexPage

        self.find(self._username).send_keys(username)
        self.find(self._password).send_keys(password.reveal() if hasattr(password, "reveal") else password)
        self.browser.navigate(self.find(self._submit).click, "login")
        page_cls = LoginPage if "/_admin/login" in self.browser.url else IndexPage
        return page_cls(self.browser, self.target).wait_loaded()

    @property
    def errors(self) -> list[str]:
        return [e for e in (norm(t) for t in self.texts(self._errors)) if e]


class MyAccountPage(KallitheaPage):
    ROUTE = "my_account"
    LOADED = css("form input#username, input[name='username']")


def log_out(page: KallitheaPage):
    """Open the user menu and choose Log Out; returns the page the site shows next."""
    from hgharness.suites.pages.kallithea.repos import IndexPage

    page.find(css("#quick_login_link")).click()
    link = Locator(By.XPATH, "//div[@id='quick_login_h']//a[normalize-space()='Log Out']")
    page.browser.wait().until(lambda d: d.find_element(*link).is_displayed())
    return page._follow(link, IndexPage)
