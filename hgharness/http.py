"""HTTP sessions for a Target, and the reachability probe that turns network errors into one line."""

from __future__ import annotations

import requests

from hgharness import __version__
from hgharness.errors import HarnessError

USER_AGENT = f"hgharness/{__version__}"


def session(target, auth: bool = False) -> requests.Session:
    """A requests session honouring the target's TLS settings (and the standard proxy variables)."""
    s = requests.Session()
    s.verify = target.verify
    s.headers["User-Agent"] = USER_AGENT
    if auth and target.has_credentials():
        s.auth = target.auth()
    if target.insecure:
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    return s


def explain(target, exc: Exception) -> str:
    """One line naming the target and what went wrong reaching it."""
    if isinstance(exc, requests.exceptions.SSLError):
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            return (f"target {target.url}: TLS certificate not trusted; pass the CA that issued it with "
                    "--ca-bundle FILE (or ca_bundle in targets.toml), or --insecure to skip verification")
        return f"target {target.url}: TLS error: {_short(text)}"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"target {target.url} is unreachable: connection timed out"
    if isinstance(exc, requests.exceptions.ProxyError):
        return f"target {target.url} is unreachable through the configured proxy: {_short(str(exc))}"
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc)
        if "Name or service not known" in text or "NameResolutionError" in text or "resolve" in text:
            reason = "host name does not resolve"
        elif "refused" in text:
            reason = "connection refused"
        else:
            reason = _short(text)
        return f"target {target.url} is unreachable: {reason}"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"target {target.url} did not answer in time"
    return f"target {target.url}: {type(exc).__name__}: {_short(str(exc))}"


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
