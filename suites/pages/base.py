"""What every page object shares: opening by route, waiting until loaded, following links to the next page.

A page class names its ROUTE (the site adapter's page kind; also the action name its timings are recorded
under, the same names the headless checks and Locust use), its locators as named tuples at the top, and a
LOADED locator whose presence proves the page is there. Navigation methods return the next page, loaded.
"""

from __future__ import annotations

from typing import NamedTuple

from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By

# Elements matched by a CSS or XPath locator, inside the page: one WebDriver round trip for a whole list.
QUERY_JS = """
const by = arguments[0], value = arguments[1];
let found;
if (by === 'xpath') {
  const r = document.evaluate(value, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
  found = Array.from({length: r.snapshotLength}, (_, i) => r.snapshotItem(i));
} else {
  found = Array.from(document.querySelectorAll(value));
}
"""


class Locator(NamedTuple):
    by: str
    value: str


def norm(text: str | None) -> str:
    """Text as a person reads it: runs of whitespace are one space (what the browser renders)."""
    return " ".join((text or "").split())


def css(selector: str) -> Locator:
    return Locator(By.CSS_SELECTOR, selector)


class Page:
    ROUTE = ""
    LOADED: Locator | None = None

    def __init__(self, browser, target):
        self.browser = browser
        self.target = target

    @property
    def driver(self):
        return self.browser.driver

    @property
    def name(self) -> str:
        return type(self).__name__

    # --- getting there ---
    @classmethod
    def open(cls, browser, target, repo=None, rev=None, path=None, **query):
        """Type the page's URL (built by the site adapter) into the browser."""
        url = target.url_for(target.site.route(cls.ROUTE, repo, rev=rev, path=path, **query))
        timing = browser.visit(url, cls.ROUTE)
        return cls(browser, target)._arrived(timing)

    def _follow(self, locator_or_element, page_cls, **kwargs):
        """Click a link on this page; returns the next page object, loaded."""
        el = self.find(locator_or_element) if isinstance(locator_or_element, Locator) else locator_or_element
        timing = self.browser.follow(el, page_cls.ROUTE)
        return page_cls(self.browser, self.target, **kwargs)._arrived(timing)

    def _arrived(self, timing):
        status = (timing or {}).get("status")
        assert not status or status < 400, f"{self.name}: HTTP {status} for {self.browser.url}"
        return self.wait_loaded()

    def wait_loaded(self, scale: float = 1.0):
        try:
            self.browser.wait(scale).until(lambda d: self.is_loaded())
        except TimeoutException:
            raise AssertionError(f"{self.name} did not show at {self.browser.url} (title "
                                 f"{self.driver.title!r}): {self._visible_text()[:200]!r}") from None
        return self

    def is_loaded(self) -> bool:
        return self.LOADED is None or bool(self.driver.find_elements(*self.LOADED))

    # --- reading state, in one round trip where it matters ---
    def find(self, locator: Locator):
        return self.driver.find_element(*locator)

    def find_all(self, locator: Locator):
        return self.driver.find_elements(*locator)

    def texts(self, locator: Locator, prop: str = "textContent") -> list[str]:
        """One property of every element matched (one WebDriver call, not one per element)."""
        assert locator.by in (By.CSS_SELECTOR, By.XPATH), "texts() takes CSS or XPath locators"
        return self.browser.js(QUERY_JS + "return found.map(e => e[arguments[2]]);", locator.by, locator.value, prop)

    def text(self, locator: Locator) -> str:
        """The visible text of one element, whitespace-normalized."""
        return norm(self.find(locator).text)

    def links(self, locator: Locator) -> list[tuple[str, str]]:
        """(visible text, absolute href) of every link matched."""
        assert locator.by in (By.CSS_SELECTOR, By.XPATH), "links() takes CSS or XPath locators"
        return [(norm(t), h) for t, h in
                self.browser.js(QUERY_JS + "return found.map(e => [e.innerText, e.href]);", locator.by, locator.value)]

    def _visible_text(self) -> str:
        try:
            return norm(self.driver.find_element(By.TAG_NAME, "body").text)
        except Exception:
            return ""

    @property
    def title(self) -> str:
        return self.driver.title
