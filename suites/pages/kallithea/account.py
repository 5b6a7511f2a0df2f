"""Logging in."""

from __future__ import annotations

from hgharness.suites.pages.base import css
from hgharness.suites.pages.kallithea.common import KallitheaPage


class LoginPage(KallitheaPage, route="login", loaded=css("form input#sign_in")):
    _username = css("div.panel input#username")
    _password = css("div.panel input#password")
    _submit = css("div.panel input#sign_in")
    _errors = css("span.error-message")

    def login(self, username: str, password) -> KallitheaPage:
        """Fill in the form and sign in; returns the page the site shows next (LoginPage again on refusal)."""
        self.find(self._username).send_keys(username)
        self.find(self._password).send_keys(password.reveal() if hasattr(password, "reveal") else password)
        self.browser.navigate(self.find(self._submit).click, "login")
        return self._next("LoginPage" if "/_admin/login" in self.browser.url else "IndexPage")

    @property
    def errors(self) -> list[str]:
        return [e for e in self.all_text(self._errors) if e]


class MyAccountPage(KallitheaPage, route="my_account", loaded=css("form input#username, input[name='username']")):
    pass
