"""HTTP sessions for a Target, and the reachability probe that turns network errors into one line.

Every request made through `session()` is bounded twice, whatever the site does:
- in time: its whole answer (headers and body, redirects included) must arrive within the target's
  request_deadline (default 120 s). A per-read timeout alone lets a server trickling one byte a second hold a
  request forever; a watchdog shuts the request's sockets down when the deadline passes, and the request fails
  with DeadlineExceeded (a requests Timeout);
- in size: a body larger than the target's max_response_mb (default 64 MiB) is not read past that bound; the
  request fails with AnswerTooLarge. A declared Content-Length over the bound fails before the body is read.
"""

from __future__ import annotations

import heapq
import itertools
import os
import re
import socket
import threading
import time

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from hgharness import __version__
from hgharness.errors import HarnessError

USER_AGENT = f"hgharness/{__version__}"


DEFAULT_DEADLINE_S = 120.0
DEFAULT_MAX_RESPONSE_MB = 64.0
CHUNK = 64 * 1024


class DeadlineExceeded(requests.exceptions.Timeout):
    """No whole answer within the request deadline (the server trickled, or stalled between reads)."""


class AnswerTooLarge(requests.exceptions.RequestException):
    """The answer's body is larger than the bound the harness reads."""


class GaveUp(DeadlineExceeded):
    """Not sent: this process already saw GIVE_UP_AFTER requests to the host pass their deadline. Without this, a
    site trickling one page kind would cost a whole deadline per check of that kind (hours at the default);
    what was not sent was not checked: callers report it as unverified, not as failed."""


GIVE_UP_AFTER = 3
_deadlines_passed: dict[str, int] = {}  # host -> requests past their deadline in this process


class Watch:
    """A deadline for one request: when it passes, every connection the request used is shut down, which ends
    any read blocked on it (a trickling server included). Threads and greenlets alike; one watchdog thread per
    process keeps every deadline (not a timer thread per request)."""

    def __init__(self, seconds: float, on_expire=None):
        self.seconds = seconds
        self.on_expire = on_expire  # more to shut down when the deadline passes
        self.expired = False
        self.cancelled = False
        self._conns: list = []
        self._lock = threading.Lock()

    def start(self) -> "Watch":
        _watchdog.add(time.monotonic() + self.seconds, self)
        return self

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            self._conns.clear()

    def register(self, what) -> None:
        """A socket, or a connection (whatever socket it has when the deadline passes)."""
        with self._lock:
            self._conns.append(what)
            expired = self.expired
        if expired:
            shut(_socket_of(what))

    def _expire(self) -> None:
        with self._lock:
            if self.cancelled:
                return
            self.expired = True
            conns = list(self._conns)
        for what in conns:
            shut(_socket_of(what))
        if self.on_expire is not None:
            self.on_expire()


class _Watchdog:
    """The process's one thread (a greenlet under gevent) that expires Watches at their deadlines."""

    def __init__(self):
        self._heap: list = []
        self._cv = threading.Condition()
        self._seq = itertools.count()
        self._thread = None
        self._pid = None

    def add(self, when: float, watch: Watch) -> None:
        with self._cv:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="hgharness-deadlines", daemon=True)
                self._pid = os.getpid()
                self._thread.start()
            heapq.heappush(self._heap, (when, next(self._seq), watch))
            if self._heap[0][2] is watch:
                self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cv.wait()
                    continue
                when, _, watch = self._heap[0]
                delay = when - time.monotonic()
                if delay > 0:
                    self._cv.wait(delay)
                    continue
                heapq.heappop(self._heap)
            watch._expire()


_watchdog = _Watchdog()


def _socket_of(what):
    return what if hasattr(what, "shutdown") else getattr(what, "sock", None)


def shut(sock) -> None:
    """Shut a socket down in both directions (a blocked read returns at once); never raises."""
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass


_current = threading.local()  # the Watch of the request this thread is making


class _Watched:
    """Connection mixin: the request's Watch learns the connection and its socket (the socket itself too: a
    connection that will close hands its socket to the response and forgets it)."""

    def connect(self):
        super().connect()
        watch = getattr(_current, "watch", None)
        if watch is not None:
            watch.register(self.sock)

    def request(self, *args, **kwargs):
        watch = getattr(_current, "watch", None)
        if watch is not None:
            watch.register(self)
            if self.sock is not None:
                watch.register(self.sock)
        return super().request(*args, **kwargs)


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter whose connections report to the request's Watch."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy, **kwargs):
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


class BoundedSession(requests.Session):
    """A requests Session whose every request is bounded in time (deadline_s for the whole answer) and size
    (max_bytes of body read). stream=True answers stay under the deadline until they are closed (use them as
    context managers) and are read by their caller, who bounds their size."""

    def __init__(self, deadline_s: float = DEFAULT_DEADLINE_S, max_bytes: int = int(DEFAULT_MAX_RESPONSE_MB * 2**20),
                 give_up: bool = True):
        super().__init__()
        self.deadline_s = deadline_s
        self.max_bytes = max_bytes
        self.give_up = give_up  # False: always send (the liveness probe), never GaveUp
        adapter = _WatchedAdapter()
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method, url, *args, **kwargs):
        if getattr(_current, "watch", None) is not None:  # a nested call: the outer request's deadline rules
            return super().request(method, url, *args, **kwargs)
        host = urllib3.util.parse_url(url).netloc or ""
        passed = _deadlines_passed.get(host, 0)
        if passed >= GIVE_UP_AFTER and self.give_up:
            raise GaveUp(f"{method} {url} not sent: {passed} requests to {host} passed the "
                         f"{self.deadline_s:g} s deadline already")
        watch = Watch(self.deadline_s).start()
        _current.watch = watch
        stream = kwargs.get("stream", False)
        try:
            r = super().request(method, url, *args, **kwargs)
        except requests.RequestException as e:
            watch.cancel()
            if watch.expired or isinstance(e, DeadlineExceeded):
                _deadlines_passed[host] = _deadlines_passed.get(host, 0) + 1
            if watch.expired and not isinstance(e, DeadlineExceeded):
                raise DeadlineExceeded(f"{method} {url}: no whole answer within {self.deadline_s:g} s",
                                       request=e.request) from None
            raise e
        except BaseException:
            watch.cancel()
            raise
        finally:
            _current.watch = None
        if not stream:
            watch.cancel()
            return r
        close = r.close

        def closing():  # a streamed answer is under the deadline until it is closed
            watch.cancel()
            close()

        r.close = closing
        return r

    def send(self, request, **kwargs):
        stream = kwargs.get("stream", False)
        kwargs["stream"] = True  # requests must not read a body whole: the hook below reads it, bounded

        def bounded(r, *args, **kw):
            # a response hook runs before requests follows (or looks at) a redirect, which would read the
            # redirect's body whole; a streamed answer's body is its caller's to read
            if (not stream or r.is_redirect) and r._content is False:
                r._content = self._read(r, r.url)
            return r

        request.hooks = {**request.hooks, "response": [bounded, *request.hooks.get("response", [])]}
        return super().send(request, **kwargs)

    def _read(self, r, url) -> bytes:
        try:
            return read_bounded(r, self.max_bytes)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as e:
            r.close()
            watch = getattr(_current, "watch", None)
            if watch is not None and watch.expired:
                raise DeadlineExceeded(f"{r.request.method} {url}: no whole answer within {self.deadline_s:g} s",
                                       request=r.request) from None
            if isinstance(e, requests.RequestException):
                raise
            raise requests.exceptions.ConnectionError(f"{url}: the answer broke off: {e}") from None


def _drop(r: requests.Response) -> None:
    """Close the connection of an answer not read to its end: the server must not wait on a reader that left."""
    watch = getattr(_current, "watch", None)
    if watch is not None:
        for what in list(watch._conns):
            shut(_socket_of(what))
    r.close()


def read_bounded(r: requests.Response, max_bytes: int) -> bytes:
    """The body of a streamed response, refusing (AnswerTooLarge) to read more than max_bytes."""
    declared = r.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        _drop(r)
        raise AnswerTooLarge(f"{r.url}: answer of {int(declared) / 2**20:.0f} MiB is over the "
                             f"{max_bytes / 2**20:g} MiB bound (max_response_mb)", request=r.request, response=r)
    chunks, got = [], 0
    try:
        for chunk in r.iter_content(CHUNK):
            got += len(chunk)
            if got > max_bytes:
                _drop(r)
                raise AnswerTooLarge(f"{r.url}: answer over the {max_bytes / 2**20:g} MiB bound "
                                     "(max_response_mb); not read further", request=r.request, response=r)
            chunks.append(chunk)
    except requests.exceptions.ChunkedEncodingError as e:
        raise requests.exceptions.ConnectionError(f"{r.url}: the answer broke off: {e}") from None
    r._content_consumed = True
    return b"".join(chunks)


def session(target, auth: bool = False, give_up: bool = True) -> requests.Session:
    """A requests session honouring the target's TLS settings (and the standard proxy variables), every request
    bounded by the target's request_deadline and max_response_mb (give_up=False: sent even after the host let
    GIVE_UP_AFTER requests pass their deadline)."""
    s = BoundedSession(target.request_deadline, target.max_response_bytes, give_up=give_up)
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's `verify` (even False), so the
    # session settles everything from the environment once, explicitly: --ca-bundle and --insecure win.
    s.trust_env = False
    s.verify = tls_verify(target)
    s.proxies = proxies_for(target)
    s.headers["User-Agent"] = USER_AGENT
    if auth and target.has_credentials():
        s.auth = target.auth()
    if target.insecure:
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    return s


def tls_verify(target):
    """`verify` for requests: the target's CA bundle, False with --insecure, else the environment's bundle
    (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, as requests itself would use) or requests' default."""
    if target.insecure:
        return False
    if target.ca_bundle:
        return target.ca_bundle
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


def proxies_for(target) -> dict:
    """The standard proxy variables (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY) for the target's URL.
    A loopback target is never proxied: a proxy cannot reach this machine's loopback, and NO_PROXY rarely
    lists 127.0.0.1 (Mercurial's client skips localhost/127.0.0.1 on its own)."""
    if getattr(target, "is_loopback", False):
        return {}
    return requests.utils.get_environ_proxies(target.url)


NOT_TRUSTED = ("unable to get local issuer certificate", "self-signed certificate", "self signed certificate",
               "unable to verify the first certificate", "certificate signature failure", "unknown ca")


def tls_problem(target, text: str) -> str | None:
    """One line for a TLS failure text (from requests, urllib or Mercurial), or None if it is not one."""
    low = text.lower()
    if any(m in low for m in NOT_TRUSTED):
        return (f"target {target.url}: TLS certificate not trusted (issued by a CA this machine does not trust); "
                "pass that CA with --ca-bundle FILE (or ca_bundle in targets.toml), or --insecure to skip "
                "verification")
    if "mismatch" in low or "doesn't match" in low or "does not match" in low:
        return (f"target {target.url}: TLS certificate does not match host {target.host!r}; use the name the "
                "certificate was issued for")
    if "certificate has expired" in low or "not yet valid" in low:
        return f"target {target.url}: TLS certificate is expired or not yet valid"
    if "certificate_verify_failed" in low or "certificate verify failed" in low:
        return f"target {target.url}: TLS certificate not accepted: {_short(_ssl_reason(text))}"
    if "wrong version number" in low or "record layer failure" in low or "packet length too long" in low:
        return f"target {target.url}: TLS handshake failed (is it really https? is a proxy in the way?)"
    return None


def _ssl_reason(text: str) -> str:
    m = re.search(r"certificate verify failed: ([^(')]+)", text)
    return m.group(1).strip() if m else text


def explain(target, exc: Exception) -> str:
    """One line naming the target and what went wrong reaching it."""
    if isinstance(exc, requests.exceptions.SSLError):
        text = str(exc)
        return tls_problem(target, text) or f"target {target.url}: TLS error: {_short(text)}"
    if isinstance(exc, DeadlineExceeded):
        return f"target {target.url} did not send a whole answer within {target.request_deadline:g} s " \
               "(request_deadline)"
    if isinstance(exc, AnswerTooLarge):
        return f"target {target.url}: {exc}"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"target {target.url} is unreachable: connection timed out"
    if isinstance(exc, requests.exceptions.ProxyError):
        return f"target {target.url} is unreachable through the configured proxy: {_short(str(exc))}"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"target {target.url} is unreachable: {never_connected(exc) or _short(str(exc))}"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"target {target.url} did not answer in time"
    return f"target {target.url}: {type(exc).__name__}: {_short(str(exc))}"


def never_connected(exc: Exception) -> str | None:
    """Why a connection was never made ("host name does not resolve", "connection refused"), or None when it
    was made (and perhaps broke later)."""
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return None
    text = str(exc)
    if "Name or service not known" in text or "NameResolutionError" in text or "resolve" in text:
        return "host name does not resolve"
    if "refused" in text:
        return "connection refused"
    return None


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def probe(target, timeout: float = 10) -> requests.Response:
    """GET the target's base URL; raises HarnessError when it cannot be reached at all.

    Any HTTP answer (even a 500) means reachable: judging the answer is the suites' job.
    """
    try:
        return session(target, give_up=False).get(target.url, timeout=timeout, allow_redirects=True)
    except requests.RequestException as e:
        raise HarnessError(explain(target, e)) from None


def broken_front_page(target, response: requests.Response) -> str | None:
    """One line when the site's base URL answers with a server error or an empty page (no healthy site does
    either; a login wall or a redirect is fine), else None."""
    if response.status_code >= 500:
        return f"GET {target.url} answered HTTP {response.status_code}: the site fails its own front page"
    if response.status_code == 200 and not response.content.strip():
        return f"GET {target.url} answered HTTP 200 with an empty body: the site serves no front page"
    return None
