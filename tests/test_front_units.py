"""The pieces of the deployed-shape front that need no server: certificates, htpasswd, prefixes, options,
TLS error lines, proxy settings."""

import base64
import hashlib
import ipaddress
import ssl
import types

import pytest
import requests

from hgharness.errors import HarnessError
from hgharness.front import NginxFront, check_front_arguments, normalize_prefix, ssha_line
from hgharness.http import proxies_for, session, tls_problem, tls_verify
from hgharness.target import Target
from hgharness.tlsca import CA


def test_server_certificate_is_issued_by_the_run_ca_for_loopback(tmp_path):
    from cryptography import x509

    ca = CA(tmp_path / "ca")
    issued = ca.issue_server("front")
    cert = x509.load_pem_x509_certificate(issued.cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    # Mercurial matches DNS entries only, so the IP is a DNS entry too
    assert {"localhost", "127.0.0.1"} <= set(san.get_values_for_type(x509.DNSName))
    assert cert.issuer == x509.load_pem_x509_certificate(ca.pem).subject
    assert issued.chain.read_bytes() == issued.cert.read_bytes() + ca.pem
    assert issued.key.stat().st_mode & 0o077 == 0 and ca.key_file.stat().st_mode & 0o077 == 0
    # OpenSSL accepts the pair as a server identity, and a client context trusting only ca.pem loads it
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(issued.chain, issued.key)
    ssl.create_default_context(cafile=str(ca.cert_file))


def test_two_runs_get_two_different_cas(tmp_path):
    assert CA(tmp_path / "a").pem != CA(tmp_path / "b").pem


def test_ssha_line_is_rfc2307_salted_sha1():
    user, _, hashed = ssha_line("qa", "s3cret pass").partition(":")
    assert user == "qa" and hashed.startswith("{SSHA}")
    raw = base64.b64decode(hashed[len("{SSHA}"):])
    digest, salt = raw[:20], raw[20:]
    assert hashlib.sha1(b"s3cret pass" + salt).digest() == digest
    assert hashlib.sha1(b"wrong" + salt).digest() != digest


@pytest.mark.parametrize("given,expected", [("", ""), (None, ""), ("/", ""), ("/hg", "/hg"), ("hg/", "/hg"),
                                            ("/a/b-c_d", "/a/b-c_d")])
def test_prefix_is_normalized(given, expected):
    assert normalize_prefix(given) == expected


@pytest.mark.parametrize("bad", ["/a b", "/hg/../etc", "/x;y", "/é", "/a{b}"])
def test_bad_prefix_is_refused(bad):
    with pytest.raises(HarnessError, match="bad path prefix"):
        normalize_prefix(bad)


def test_front_options_need_an_embedded_target_and_tls_needs_a_front():
    ns = types.SimpleNamespace
    with pytest.raises(HarnessError, match="--tls needs a front"):
        check_front_arguments(ns(front=None, tls=True, prefix=None), embedded=True)
    with pytest.raises(HarnessError, match="embedded target"):
        check_front_arguments(ns(front="nginx", tls=False, prefix=None), embedded=False)
    check_front_arguments(ns(front=None, tls=False, prefix="/hg"), embedded=True)


def test_nginx_config_has_the_deployment_settings(tmp_path):
    front = NginxFront("http://127.0.0.1:1234/hg/", tmp_path, prefix="/hg", tls=True, users={"u": "p"}, port=4321)
    conf = front.render()
    for needle in ("listen 127.0.0.1:4321 ssl;", "client_max_body_size 0;", "proxy_buffering off;",
                   "proxy_request_buffering off;", "limit_except GET HEAD {", "auth_basic_user_file",
                   "location /hg/ {", "proxy_pass http://hgharness_upstream;", "X-Forwarded-Proto $scheme",
                   f"ssl_certificate {tmp_path}/tls/front-chain.pem;", f"pid {tmp_path}/nginx.pid;",
                   f"client_body_temp_path {tmp_path}/tmp/body;"):
        assert needle in conf, needle
    assert front.url == "https://127.0.0.1:4321/hg/" and front.describe() == "nginx+tls prefix=/hg"
    # an upstream under another path: nginx swaps the prefix
    other = NginxFront("http://127.0.0.1:1234/", tmp_path / "o", prefix="/hg", port=4322).render()
    assert "proxy_pass http://hgharness_upstream/;" in other and "auth_basic" not in other


TEXTS = {
    # requests' text for the untrusted private CA (nginx sends leaf + CA)
    "requests": "HTTPSConnectionPool(host='127.0.0.1', port=1): Max retries exceeded with url: /hg/ (Caused by "
                "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
                "failed: self-signed certificate in certificate chain (_ssl.c:1006)')))",
    # only the leaf sent
    "leaf": "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate",
}


@pytest.mark.parametrize("kind", sorted(TEXTS))
def test_untrusted_certificate_gives_one_line_naming_the_fix(kind):
    t = Target(url="https://127.0.0.1:1/hg/")
    line = tls_problem(t, TEXTS[kind])
    assert "not trusted" in line and "--ca-bundle" in line and "\n" not in line


def test_name_mismatch_is_not_called_untrusted():
    t = Target(url="https://127.0.0.2:1/")
    line = tls_problem(t, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, "
                          "certificate is not valid for '127.0.0.2'. (_ssl.c:1006)")
    assert "does not match host" in line and "not trusted" not in line


def test_ca_bundle_and_insecure_win_over_requests_environment(tmp_path, monkeypatch):
    """requests lets REQUESTS_CA_BUNDLE replace a session's verify (even False); the harness's sessions don't."""
    ca = CA(tmp_path).cert_file
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    assert tls_verify(Target(url="https://127.0.0.1:1/", ca_bundle=str(ca))) == str(ca)
    assert tls_verify(Target(url="https://127.0.0.1:1/", insecure=True)) is False
    assert tls_verify(Target(url="https://127.0.0.1:1/")) == "/etc/ssl/certs/ca-certificates.crt"
    s = session(Target(url="https://127.0.0.1:1/", ca_bundle=str(ca)))
    assert s.merge_environment_settings("https://127.0.0.1:1/", {}, None, None, None)["verify"] == str(ca)


def test_proxy_variables_apply_to_remote_targets_but_never_to_loopback(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    assert proxies_for(Target(url="https://code.example.com/hg/")).get("https") == "http://127.0.0.1:9"
    assert proxies_for(Target(url="https://internal.example/")) == {}
    assert proxies_for(Target(url="https://127.0.0.1:8443/hg/")) == {}
    assert proxies_for(Target(url="http://localhost:8000/")) == {}


def test_a_dead_proxy_is_named_in_the_error(monkeypatch):
    from hgharness.http import probe

    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(HarnessError, match="through the configured proxy"):
        probe(Target(url="https://code.example.invalid/hg/"), timeout=5)
    assert requests.utils.get_environ_proxies("https://code.example.invalid/")  # the proxy was really set


def test_mercurial_gets_the_ca_through_its_own_config_and_insecure_as_hg_insecure(tmp_path):
    from hgharness.hg import hg_config, make_ui

    ca = str(CA(tmp_path).cert_file)
    conf = {(s, k): v for s, k, v in hg_config(Target(url="https://code.example.com/hg/", ca_bundle=ca))}
    assert conf[("hostsecurity", "code.example.com:verifycertsfile")] == ca and conf[("web", "cacerts")] == ca
    assert ("http_proxy", "no") not in conf  # a remote target may go through the proxy
    secure = make_ui(Target(url="https://127.0.0.1:8443/hg/", ca_bundle=ca))
    assert not secure.insecureconnections and secure.config(b"http_proxy", b"no") == b"127.0.0.1"
    insecure = make_ui(Target(url="https://127.0.0.1:8443/hg/", ca_bundle=ca, insecure=True))
    assert insecure.insecureconnections and insecure.copy().insecureconnections  # peers get a copy
    assert insecure.config(b"web", b"cacerts") is None  # verification is off, not pointed at an empty CA list
