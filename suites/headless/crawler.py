"""A bounded crawler: from the site root, follow same-site links (pages, stylesheets, scripts, images) up to N
fetches and report what a user would trip over: 5xx, broken links (4xx), server tracebacks in a body, and
links on the same host that leave the site's base URL (its path prefix).

Links to other hosts are not followed. To cover many page kinds within the budget, pending URLs are grouped by
kind (the first path segments under the base, e.g. `demo/rev`) and taken round-robin across kinds.
"""

from __future__ import annotations

import os
import urllib.parse
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from hgharness.suites.support import pagetext
from hgharness.suites.support.known_issues import url_issue

MAX_BODY = 8 * 1024 * 1024  # bytes of an HTML page read for links
DEFAULT_PAGES = 300
IN_FLIGHT = 3  # requests in flight at once (the embedded target has 2 workers)


def budget(config) -> int:
    """Fetches allowed: --crawl-pages, else HGHARNESS_CRAWL_PAGES, else DEFAULT_PAGES."""
    try:
        value = config.getoption("crawl_pages")
    except ValueError:  # the option is registered by suites/headless/conftest.py only
        value = None
    return int(value or os.environ.get("HGHARNESS_CRAWL_PAGES") or DEFAULT_PAGES)


@dataclass
class Problem:
    kind: str  # server-error | broken-link | traceback | leaves-prefix | page
    url: str
    text: str
    ref: str = ""  # the page that linked it

    def __str__(self):
        return self.text


@dataclass
class Crawl:
    fetched: int = 0
    problems: list[Problem] = field(default_factory=list)
    known: list[str] = field(default_factory=list)  # URLs not fetched: they would reproduce a known site defect
    kinds: set[str] = field(default_factory=set)
    pages: int = 0  # HTML pages parsed


def _kind(path_under_base: str) -> str:
    parts = [p for p in path_under_base.split("/") if p][:2]
    return "/".join(parts) or "(root)"


def download_markers(site) -> list[str]:
    """Path pieces of routes that generate downloads (archives): checked in depth elsewhere, costly to crawl."""
    template = site.ROUTES.get("archive", "")
    piece = template.split("{repo}", 1)[-1].split("{rev}", 1)[0]
    return [piece] if piece.strip("/") else []


def crawl(session, target, max_fetches: int, timeout: float, on_page=None) -> Crawl:
    """Crawl from target.url. `on_page(url, headers, page)` may return a list of problems for an HTML page."""
    base = urllib.parse.urlsplit(target.url)
    skip = download_markers(target.site)
    prefix = base.path  # ends with '/'
    result = Crawl()
    pending: OrderedDict[str, deque] = OrderedDict()
    referrer: dict[str, str] = {}
    seen: set[str] = set()
    escaped: set[str] = set()

    def enqueue(url: str, ref: str):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc != base.netloc:
            return  # another site: not followed
        url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
        if url in seen or any(m in parts.path for m in skip):
            return
        seen.add(url)
        if not (parts.path + "/").startswith(prefix) and parts.path != prefix.rstrip("/"):
            if url not in escaped:
                escaped.add(url)
                result.problems.append(Problem("leaves-prefix", url,
                                               f"link leaves the site's base {target.url}: {url} (linked from {ref})"))
            return
        issue = url_issue(target, parts.path[len(prefix):])
        if issue is not None:
            result.known.append(f"{url} [{issue['id']}]")
            return
        referrer[url] = ref
        pending.setdefault(_kind(parts.path[len(prefix):]), deque()).append(url)

    enqueue(target.url, "(start)")
    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
        while pending and result.fetched < max_fetches:
            batch = []
            while pending and len(batch) < IN_FLIGHT and result.fetched + len(batch) < max_fetches:
                kind, queue = next(iter(pending.items()))
                batch.append(queue.popleft())
                pending.move_to_end(kind)  # round-robin across kinds
                if not queue:
                    del pending[kind]
                result.kinds.add(kind)
            result.fetched += len(batch)
            # fetched side by side, judged in order: the crawl is the same whatever the timing
            for url, got in zip(batch, pool.map(lambda u: _fetch(session, u, timeout), batch), strict=True):
                _judge(url, got, referrer.get(url, "?"), result, enqueue, on_page)
    return result


def _fetch(session, url: str, timeout: float):
    """(status, headers, content type, body or None for downloads)."""
    with session.get(url, timeout=timeout, allow_redirects=False, stream=True) as r:
        ctype = r.headers.get("Content-Type", "").lower()
        body = None
        if r.status_code < 300 and (ctype.startswith("text/") or "xml" in ctype or "json" in ctype):
            body = r.raw.read(MAX_BODY, decode_content=True).decode(r.encoding or "utf-8", "replace")
        return r.status_code, r.headers, ctype, body


def _judge(url, got, ref, result, enqueue, on_page):
    status, headers, ctype, body = got
    if status >= 500:
        result.problems.append(Problem("server-error", url, f"HTTP {status} at {url} (linked from {ref})"))
        return
    if status >= 400:
        result.problems.append(Problem("broken-link", url, f"broken link: HTTP {status} at {url} (linked from {ref})",
                                       ref or ""))
        return
    if 300 <= status < 400:
        if headers.get("Location"):
            enqueue(urllib.parse.urljoin(url, headers["Location"]), url)
        return
    if body is None:
        return  # a download: its status is what a crawler can judge
    tb = pagetext.traceback_in(body)
    if tb:
        result.problems.append(Problem("traceback", url, f"server traceback in {url} ({tb!r})"))
    if "html" not in ctype:
        return
    page = pagetext.parse(body, url)
    result.pages += 1
    if on_page is not None:
        result.problems += [Problem("page", url, p) for p in on_page(url, headers, page) or []]
    for _tag, _attr, link in page.links:
        enqueue(link, url)
