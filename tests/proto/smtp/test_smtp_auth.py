"""AUTH in the SMTP dialect: offered only with TLS or on a loopback peer, SASL via
maa.auth.sasl, the glue deciding on the credentials."""

from __future__ import annotations

import base64

from smtp_transcript import Session

from maa.proto.smtp import Dialect
from maa.proto.smtp import events as ev


def b64(text: str) -> bytes:
    return base64.b64encode(text.encode())


def session(**extra: object) -> Session:
    s = Session(Dialect.SMTP, settings_extra={"auth": True, **extra})
    s.send(b"EHLO c\r\n")
    return s


def test_auth_plain_with_initial_response() -> None:
    s = session(plaintext_auth=True)
    out = s.send(b"AUTH PLAIN " + b64("\0alice\0secret") + b"\r\n")
    assert out == b"235 2.7.0 Authentication successful\r\n"
    (creds,) = s.of_type(ev.AuthCredentials)
    assert creds == ev.AuthCredentials("PLAIN", "", "alice", "secret")
    assert s.engine.authenticated
    assert s.codes(b"AUTH PLAIN " + b64("\0alice\0secret") + b"\r\n") == [503]


def test_auth_login_challenges() -> None:
    s = session(tls_active=True)
    assert s.send(b"AUTH LOGIN\r\n") == b"334 " + b64("Username:") + b"\r\n"
    assert s.send(b64("alice") + b"\r\n") == b"334 " + b64("Password:") + b"\r\n"
    assert s.send(b64("wrong") + b"\r\n") == b"535 5.7.8 Bad\r\n"
    assert not s.engine.authenticated
    assert s.codes(b"NOOP\r\n") == [250]


def test_auth_refused_without_tls_off_loopback() -> None:
    s = session()
    assert s.send(b"AUTH PLAIN " + b64("\0alice\0secret") + b"\r\n").startswith(b"538 5.7.11")
    assert not s.of_type(ev.AuthCredentials)


def test_auth_disabled_and_unknown_mechanism() -> None:
    s = Session(Dialect.SMTP)
    s.send(b"EHLO c\r\n")
    assert s.codes(b"AUTH PLAIN x\r\n") == [503]
    assert session(plaintext_auth=True).codes(b"AUTH CRAM-MD5\r\n") == [504]


def test_auth_cancel_and_garbage() -> None:
    s = session(plaintext_auth=True)
    assert s.codes(b"AUTH LOGIN\r\n*\r\n") == [334, 501]
    assert s.codes(b"AUTH PLAIN !!!notbase64\r\n") == [501]
    assert s.codes(b"NOOP\r\n") == [250]


def test_auth_not_inside_a_transaction() -> None:
    s = session(plaintext_auth=True)
    s.send(b"MAIL FROM:<a@x.test>\r\n")
    assert s.codes(b"AUTH PLAIN " + b64("\0alice\0secret") + b"\r\n") == [503]
