"""TLS settings of the load users, from the Target.

Locust's FastHttpUser does NOT verify certificates by default (insecure = True). The harness verifies unless the
target says --insecure, and trusts the target's private CA (ca_bundle) the way requests does: that bundle only.
"""

from __future__ import annotations


def fast_http_tls(target) -> dict:
    """Class attributes for a FastHttpUser: {"insecure": bool, "ssl_context_factory": callable | None}."""
    if target.insecure:
        return {"insecure": True, "ssl_context_factory": None}
    if target.ca_bundle:
        return {"insecure": False, "ssl_context_factory": ca_bundle_factory(target.ca_bundle)}
    return {"insecure": False, "ssl_context_factory": None}  # gevent's default context: the system CAs


def ca_bundle_factory(ca_bundle: str):
    """An SSL context factory trusting exactly `ca_bundle` (geventhttpclient passes cafile=its default; ignored)."""

    def factory(cafile=None):
        import gevent.ssl

        return gevent.ssl.create_default_context(cafile=ca_bundle)

    return factory
