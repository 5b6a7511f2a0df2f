"""What every page object shares: opening by route, waiting until loaded, reading state, following links.

A page class names in its header its route (the site adapter's page kind; also the action name its timings
are recorded under, the same names the headless checks and Locust use) and the locator whose presence proves
the page is there; its other locators follow as named tuples at the top. Below them it declares its state
(`shown`, `listed`) and its navigation (`follows`, `follows_named`); methods are written out only where a page
does more.

Navigation targets are page class names, looked up in the site's PAGES (every subclass of a site's base page
registers itself there), so page modules need not import each other: the site package's __init__ imports them
all, which fills PAGES before any flow runs.
"""

from __future__ import annotations

import inspect
from typing import NamedTuple

from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By

# Read cells of every element a CSS or XPath locator matches, in one WebDriver round trip for the whole list.
# A cell is [selector inside the element ('' for itself), property ('@name' an attribute, 'ownText' the
# element's own text nodes), every match or the first]; a missing element reads as null.
CELLS_JS = """
const [by, value, cells] = arguments;
let found;
if (by === 'xpath') {
  const r = document.evaluate(value, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
  found = Array.from({length: r.snapshotLength}, (_, i) => r.snapshotItem(i));
} else {
  found = Array.from(document.querySelectorAll(value));
}
const read = (e, prop) => {
  if (!e) return null;
  if (prop.startsWith('@')) return e.getAttribute(prop.slice(1)) ?? '';
  if (prop === 'ownText') return Array.from(e.childNodes).filter(n => n.nodeType === 3).map(n => n.data).join('');
  return e[prop];
};
return found.map(e => cells.map(([sel, prop, every]) =>
  every ? Array.from(e.querySelectorAll(sel), x => read(x, prop)) : read(sel ? e.querySelector(sel) : e, prop)));
"""


class Locator(NamedTuple):
    by: str
    value: str


class Cell(NamedTuple):
    """A value read in each element a locator matches (a table row, a list item)."""
    selector: str = ""  # CSS inside the element; '' is the element itself
    prop: str = "textContent"  # a DOM property, '@attribute', or 'ownText'
    every: bool = False  # a list: the value of every match inside the element


def norm(text: str | None) -> str:
    """Text as a person reads it: runs of whitespace are one space (what the browser renders)."""
    return " ".join((text or "").split())


def css(selector: str) -> Locator:
    return Locator(By.CSS_SELECTOR, selector)


def xpath(expression: str) -> Locator:
    return Locator(By.XPATH, expression)


# --- declaring state and navigation in the class body ---
def shown(locator: Locator, doc: str | None = None) -> property:
    """State: the visible text of one element, whitespace-normalized."""
    return property(lambda page: norm(page.find(locator).text), doc=doc)


def listed(locator: Locator, prop: str = "textContent", doc: str | None = None) -> property:
    """State: the whitespace-normalized text of every element matched, in page order."""
    return property(lambda page: page.all_text(locator, prop), doc=doc)


def follows(locator: Locator, page: str):
    """Navigation: a method that clicks the link `locator` finds; returns the page named `page`, loaded."""
    def navigate(self):
        return self._follow(locator, page)
    navigate.__doc__ = f"Click through to the {page}; returns it loaded."
    navigate.__annotations__ = {"return": page}
    return navigate


def follows_named(locator: Locator, page: str, prop: str = "innerText"):
    """Navigation: a method taking a name, that clicks the link among those `locator` finds whose text is that
    name; returns the page named `page`, loaded."""
    def navigate(self, name: str):
        return self._follow_text(locator, name, page, prop)
    navigate.__doc__ = f"Click the link with this name; returns the {page}, loaded."
    navigate.__annotations__ = {"name": "str", "return": page}
    return navigate


class Page:
    """A class states what it is in its header: `class LogPage(HgwebPage, route="log", loaded=css(...))`;
    `busy` names what is present while the page's script is still loading content into it."""
    ROUTE = ""
    LOADED: Locator | None = None
    BUSY: Locator | None = None
    PAGES: dict[str, type[Page]] = {}  # the site's pages by class name; a direct subclass of Page starts a site

    def __init_subclass__(cls, route: str | None = None, loaded: Locator | None = None, busy: Locator | None = None,
                          **kwargs):
        super().__init_subclass__(**kwargs)
        if Page in cls.__bases__:
            cls.PAGES = {}
        for attr, value in (("ROUTE", route), ("LOADED", loaded), ("BUSY", busy)):
            if value is not None:
                setattr(cls, attr, value)
        cls.PAGES[cls.__name__] = cls

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

    def _page(self, page: str | type[Page]) -> type[Page]:
        return self.PAGES[page] if isinstance(page, str) else page

    def _next(self, page: str | type[Page], timing: dict | None = None):
        """The page object for the document the browser shows now, loaded."""
        return self._page(page)(self.browser, self.target)._arrived(timing)

    def _navigate(self, act, page: str | type[Page]):
        """Do something that loads a new document (a click, Enter in a form); returns that page, loaded."""
        return self._next(page, self.browser.navigate(act, self._page(page).ROUTE))

    def _follow(self, link, page: str | type[Page], what: str = ""):
        """Click a link (an element, or the first a locator finds); returns the next page object, loaded."""
        if isinstance(link, Locator):
            found = self.find_all(link)
            assert found, f"{self.name} at {self.browser.url} has no link to {what or page}"
            link = found[0]
        return self._navigate(link.click, page)

    def _follow_text(self, locator: Locator, text: str, page: str | type[Page], prop: str = "innerText"):
        """Click the link among those `locator` finds whose text is `text` (whitespace aside)."""
        names = self.all_text(locator, prop)
        if norm(text) not in names:
            raise AssertionError(f"{self.name} at {self.browser.url} has no link {text!r} (it lists {names})")
        return self._follow(self.find_all(locator)[names.index(norm(text))], page)

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
        present = self.LOADED is None or bool(self.driver.find_elements(*self.LOADED))
        return present and not (self.BUSY and self.driver.find_elements(*self.BUSY))

    # --- reading state, in one round trip where it matters ---
    def find(self, locator: Locator):
        return self.driver.find_element(*locator)

    def find_all(self, locator: Locator):
        return self.driver.find_elements(*locator)

    def cells(self, locator: Locator, *cells: Cell) -> list[list]:
        """The cells read in every element matched (one WebDriver call, not one per element)."""
        assert locator.by in (By.CSS_SELECTOR, By.XPATH), "cells() takes CSS or XPath locators"
        return self.browser.js(CELLS_JS, locator.by, locator.value, [list(c) for c in cells])

    def texts(self, locator: Locator, prop: str = "textContent") -> list[str]:
        """One property of every element matched."""
        return [row[0] for row in self.cells(locator, Cell("", prop))]

    def all_text(self, locator: Locator, prop: str = "textContent") -> list[str]:
        """The whitespace-normalized text of every element matched."""
        return [norm(t) for t in self.texts(locator, prop)]

    def text(self, locator: Locator) -> str:
        """The visible text of one element, whitespace-normalized."""
        return norm(self.find(locator).text)

    def links(self, locator: Locator) -> list[tuple[str, str]]:
        """(visible text, absolute href) of every link matched."""
        return [(norm(t), h) for t, h in self.cells(locator, Cell("", "innerText"), Cell("", "href"))]

    def _visible_text(self) -> str:
        try:
            return norm(self.driver.find_element(By.TAG_NAME, "body").text)
        except Exception:
            return ""

    @property
    def title(self) -> str:
        return self.driver.title


class Site:
    """Where a flow starts: its entry points type a URL (built by the site adapter) and return the loaded page."""

    def __init__(self, browser, target):
        self.browser, self.target = browser, target

    def open(self, page: type[Page], repo=None, rev=None, path=None, **query):
        return page.open(self.browser, self.target, repo, rev=rev, path=path, **query)


def entry(page: type[Page], *required: str, **optional):
    """A Site entry point opening `page`: its arguments are the route's repo, rev and path, or query parameters
    (`optional` gives their defaults), in the order named."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    signature = inspect.Signature([inspect.Parameter("self", kind)]
                                  + [inspect.Parameter(n, kind) for n in required]
                                  + [inspect.Parameter(n, kind, default=v) for n, v in optional.items()],
                                  return_annotation=page)

    def open_page(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        return values.pop("self").open(page, **values)
    open_page.__signature__ = signature
    open_page.__doc__ = f"Type the URL of the {page.__name__}; returns it loaded."
    return open_page
