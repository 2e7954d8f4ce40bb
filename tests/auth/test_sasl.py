from __future__ import annotations

import base64

import pytest

from maa.auth.sasl import Challenge, Credentials, SaslCancelled, SaslError, SaslServer


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_plain_with_initial_response() -> None:
    _, result = SaslServer.start("plain", b64(b"\0alice@example.test\0secret"))
    assert result == Credentials("", "alice@example.test", "secret")


def test_plain_without_initial_response_asks_for_it() -> None:
    server, result = SaslServer.start("PLAIN")
    assert result == Challenge("")
    assert server.step(b64(b"admin\0alice\0pw")) == Credentials("admin", "alice", "pw")


def test_login_asks_user_then_password() -> None:
    server, result = SaslServer.start("LOGIN")
    assert result == Challenge(b64(b"Username:"))
    assert server.step(b64(b"bob")) == Challenge(b64(b"Password:"))
    assert server.step(b64("pässword".encode())) == Credentials("", "bob", "pässword")


@pytest.mark.parametrize(
    "line", ["not base64!", b64(b"no-nuls"), b64(b"\0\0pw"), b64(b"a\0b\0c\0d"), b64(b"\xff\0a\0b")]
)
def test_bad_plain_responses(line: str) -> None:
    with pytest.raises(SaslError):
        SaslServer.start("PLAIN", line)


def test_star_cancels_and_unknown_mechanism_fails() -> None:
    server, _ = SaslServer.start("LOGIN")
    with pytest.raises(SaslCancelled):
        server.step("*")
    with pytest.raises(SaslError):
        SaslServer.start("CRAM-MD5")


def test_empty_initial_response() -> None:
    with pytest.raises(SaslError):  # "=" is an empty response: no user name in it
        SaslServer.start("PLAIN", "=")
