"""TLS for every listener: the certificate pair, Twisted context options, and peer facts.

pyOpenSSL through Twisted (``CertificateOptions``). A self-signed pair is made at first start
when the configured files are absent, so the default config works out of the box; admins
point ``[tls] cert``/``key`` at their real certificate.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import tempfile
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from twisted.internet import interfaces
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.ssl import CertificateOptions, TLSVersion
from twisted.protocols.tls import TLSMemoryBIOFactory

from maa.config import Config

# A self-signed certificate lives long enough that it never expires under a test or a trial.
SELF_SIGNED_DAYS = 3650
# RSA 2048 is what every client accepts and is quick to generate at first start.
SELF_SIGNED_BITS = 2048


def make_self_signed(hostname: str) -> tuple[bytes, bytes]:
    """A PEM (certificate, key) pair for ``hostname``, with it as CN and subjectAltName."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=SELF_SIGNED_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName(hostname),
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(san, critical=False)
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
    )


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def ensure_certificate(cert: Path, key: Path, hostname: str) -> bool:
    """Make a self-signed pair when neither file exists; True if one was made."""
    if cert.exists() or key.exists():
        return False
    cert_pem, key_pem = make_self_signed(hostname)
    _write_atomic(key, key_pem, 0o600)
    _write_atomic(cert, cert_pem, 0o644)
    return True


def load_options(cert: Path, key: Path) -> CertificateOptions:
    """Options for the PEM pair: the first certificate is the server's, the rest its chain."""
    blocks = _pem_blocks(cert.read_bytes())
    if not blocks:
        raise ValueError(f"{cert}: no PEM certificate in it")
    certs: list[Any] = [x509.load_pem_x509_certificate(block) for block in blocks]
    private_key: Any = serialization.load_pem_private_key(key.read_bytes(), password=None)
    return CertificateOptions(
        privateKey=private_key,
        certificate=certs[0],
        extraCertChain=certs[1:] or None,
        raiseMinimumTo=TLSVersion.TLSv1_2,
    )


def _pem_blocks(data: bytes) -> list[bytes]:
    marker = b"-----BEGIN CERTIFICATE-----"
    return [marker + part for part in data.split(marker)[1:]]


def server_options(config: Config) -> CertificateOptions:
    """The server's TLS options, making a self-signed pair first if there is none."""
    cert, key = Path(config.tls.cert), Path(config.tls.key)
    ensure_certificate(cert, key, config.server.hostname)
    return load_options(cert, key)


def wrap_implicit(factory: Any, options: Any) -> TLSMemoryBIOFactory:
    """A factory whose connections speak TLS from the first byte (993, 995, 465)."""
    return TLSMemoryBIOFactory(options, False, factory)


def is_secure(transport: Any) -> bool:
    """True once TLS is active on the connection (implicit or after STARTTLS)."""
    if interfaces.ISSLTransport.providedBy(transport):
        return True
    # After startTLS the transport object stays the same, but gains TLS state.
    return bool(getattr(transport, "TLS", False))


def is_loopback(transport: Any) -> bool:
    """True when the peer is on this host: 127.0.0.0/8, ::1, or a UNIX socket."""
    peer = transport.getPeer()
    if isinstance(peer, UNIXAddress):
        return True
    if isinstance(peer, IPv4Address | IPv6Address):
        return address_is_loopback(peer.host)
    return False


def address_is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback
