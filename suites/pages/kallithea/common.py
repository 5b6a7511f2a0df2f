"""What every Kallithea page has: the top menu (with the logged-in user's name and Log Out) and flash messages."""

from __future__ import annotations

from hgharness.suites.pages.base import Page, css, listed, norm, xpath


class KallitheaPage(Page, loaded=css("nav.mainmenu")):
    _user = css("nav.mainmenu span.menu_link_user")
    _flash = css("div.alert")
    _user_menu = css("#quick_login_link")
    _log_out = xpath("//div[@id='quick_login_h']//a[normalize-space()='Log Out']")

    flashes = listed(_flash)

    @property
    def logged_in_user(self) -> str | None:
        found = self.find_all(self._user)
        return norm(found[0].get_attribute("textContent")) if found else None

    def go(self, page, repo=None, rev=None, path=None, **query):
        """Type the URL of another page of the site (a person using the address bar or a bookmark)."""
        return self._page(page).open(self.browser, self.target, repo, rev=rev, path=path, **query)

    def log_out(self):
        """Open the user menu and choose Log Out; returns the page the site shows next."""
        self.find(self._user_menu).click()
        self.browser.wait().until(lambda d: d.find_element(*self._log_out).is_displayed())
        return self._follow(self._log_out, "IndexPage")
