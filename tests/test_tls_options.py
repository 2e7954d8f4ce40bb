from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from maa.tls import address_is_loopback, ensure_certificate, load_options


def test_self_signed_pair_is_made_once_and_loads(tmp_path: Path) -> None:
    cert, key = tmp_path / "tls" / "cert.pem", tmp_path / "tls" / "key.pem"
    assert ensure_certificate(cert, key, "mail.example.test")
    first = cert.read_bytes()
    assert not ensure_certificate(cert, key, "mail.example.test")
    assert cert.read_bytes() == first
    assert key.stat().st_mode & 0o077 == 0
    parsed = x509.load_pem_x509_certificate(first)
    assert parsed.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "mail.example.test"
    )
    assert load_options(cert, key).getContext() is not None


def test_loopback_addresses() -> None:
    assert address_is_loopback("127.0.0.1")
    assert address_is_loopback("127.3.4.5")
    assert address_is_loopback("::1")
    assert address_is_loopback("::ffff:127.0.0.1")
    assert not address_is_loopback("192.0.2.1")
    assert not address_is_loopback("2001:db8::1")
    assert not address_is_loopback("not-an-address")
