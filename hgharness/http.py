"""HTTP sessions for a Target, and the reachability probe that turns network errors into one line."""

from __future__ import annotations

import os
import re

import requests

from hgharness import __version__
from hgharness.errors import HarnessError

USER_AGENT = f"hgharness/{__version__}"


def session(target, auth: bool = False) -> requests.Session:
    """A requests session honouring the target's TLS settings (and the standard proxy variables)."""
    s = requests.Session()
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
        return session(target).get(target.url, timeout=timeout, allow_redirects=True)
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
