from __future__ import annotations

from pathlib import Path

from OpenSSL import crypto

from maa.tls import address_is_loopback, ensure_certificate, load_options


def test_self_signed_pair_is_made_once_and_loads(tmp_path: Path) -> None:
    cert, key = tmp_path / "tls" / "cert.pem", tmp_path / "tls" / "key.pem"
    assert ensure_certificate(cert, key, "mail.example.test")
    first = cert.read_bytes()
    assert not ensure_certificate(cert, key, "mail.example.test")
    assert cert.read_bytes() == first
    assert key.stat().st_mode & 0o077 == 0
    x509 = crypto.load_certificate(crypto.FILETYPE_PEM, first)
    assert x509.get_subject().CN == "mail.example.test"
    assert load_options(cert, key).getContext() is not None


def test_loopback_addresses() -> None:
    assert address_is_loopback("127.0.0.1")
    assert address_is_loopback("127.3.4.5")
    assert address_is_loopback("::1")
    assert address_is_loopback("::ffff:127.0.0.1")
    assert not address_is_loopback("192.0.2.1")
    assert not address_is_loopback("2001:db8::1")
    assert not address_is_loopback("not-an-address")
