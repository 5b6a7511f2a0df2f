"""A private certificate authority for one run, and the server certificates it issues.

Deployed sites often sit behind a company CA that no client trusts out of the box. The embedded front gets
the same shape: a CA created for the run (never trusted system-wide), a server certificate for 127.0.0.1 and
localhost issued by it, and a CA file that clients must be given explicitly (`--ca-bundle`).
Keys are written mode 0600 and never leave the work directory.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from hgharness.errors import HarnessError

# Short-lived on purpose: these exist for one run. A day of slack on both ends absorbs clock skew.
VALID_DAYS = 7


@dataclass
class Issued:
    cert: Path      # the leaf certificate alone
    key: Path       # its private key (0600)
    chain: Path     # leaf followed by the CA: what a server presents


def _crypto():
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        raise HarnessError("the 'cryptography' package is needed for TLS targets: pip install cryptography") from None
    return x509, hashes, serialization, ec, NameOID, ExtendedKeyUsageOID


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


class CA:
    """A CA key and self-signed certificate under `directory` (ca.pem is the file clients trust)."""

    def __init__(self, directory: str | Path, name: str = "hgharness private CA"):
        x509, hashes, serialization, ec, NameOID, _ = _crypto()
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cert_file = self.dir / "ca.pem"
        self.key_file = self.dir / "ca.key"
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hgharness"),
                             x509.NameAttribute(NameOID.COMMON_NAME, f"{name} {os.urandom(4).hex()}")])
        now = datetime.datetime.now(datetime.timezone.utc)
        ski = x509.SubjectKeyIdentifier.from_public_key(self._key.public_key())
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.cert_file.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        _write_private(self.key_file, self._key.private_bytes(serialization.Encoding.PEM,
                                                              serialization.PrivateFormat.PKCS8,
                                                              serialization.NoEncryption()))

    @property
    def pem(self) -> bytes:
        return self.cert_file.read_bytes()

    def issue_server(self, name: str = "server", hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1"),
                     directory: str | Path | None = None) -> Issued:
        """A server certificate whose SAN lists `hosts` (names as DNS entries, addresses as IP and DNS entries)."""
        x509, hashes, serialization, ec, NameOID, ExtendedKeyUsageOID = _crypto()
        out = Path(directory) if directory else self.dir
        out.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        sans = []
        for h in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(h)))
            except ValueError:
                pass
            # IP hosts get a DNS entry too: Mercurial's client matches DNS entries only (it would refuse
            # https://127.0.0.1/ with "certificate is for localhost"); OpenSSL and browsers use the IP entry.
            sans.append(x509.DNSName(h))
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        leaf = cert.public_bytes(serialization.Encoding.PEM)
        issued = Issued(cert=out / f"{name}.pem", key=out / f"{name}.key", chain=out / f"{name}-chain.pem")
        issued.cert.write_bytes(leaf)
        issued.chain.write_bytes(leaf + self.pem)
        _write_private(issued.key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
        return issued
