"""What every Kallithea page has: the top menu (with the logged-in user's name) and flash messages."""

from __future__ import annotations

from hgharness.suites.pages.base import Page, css, norm


class KallitheaPage(Page):
    LOADED = css("nav.mainmenu")
    _user = css("nav.mainmenu span.menu_link_user")
    _flash = css("div.alert")

    @property
    def logged_in_user(self) -> str | None:
        found = self.find_all(self._user)
        return norm(found[0].get_attribute("textContent")) if found else None

    @property
    def flashes(self) -> list[str]:
        return [norm(t) for t in self.texts(self._flash)]

    def go(self, page_cls, repo=None, rev=None, path=None, **query):
        """Type the URL of another page of the site (a person using the address bar or a bookmark)."""
        return page_cls.open(self.browser, self.target, repo, rev=rev, path=path, **query)
