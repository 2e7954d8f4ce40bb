"""STLS, implicit TLS (995), SASL AUTH, and the plaintext-password rule."""

from __future__ import annotations

import base64
import poplib
import socket
from typing import Any

import pytest_twisted
from pop3_support import ALICE, Pop3Server, message
from support import client_ssl_context
from twisted.internet import threads
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from maa.config import Config


@pytest_twisted.inlineCallbacks
def test_stls_then_login_and_retr(pop3: Pop3Server) -> None:
    pop3.deliver(message(1))

    def session() -> tuple[dict[str, Any], dict[str, Any], list[bytes]]:
        client = pop3.client(login=None)
        before = client.capa()
        assert client.stls(client_ssl_context()).startswith(b"+OK")
        after = client.capa()
        client.user(ALICE)
        client.pass_("secret")
        _, lines, _ = client.retr(1)
        client.quit()
        return before, after, lines

    before, after, lines = yield threads.deferToThread(session)
    assert "STLS" in before and "STLS" not in after
    assert b"\r\n".join(lines) + b"\r\n" == message(1)


@pytest_twisted.inlineCallbacks
def test_implicit_tls_port(pop3: Pop3Server) -> None:
    pop3.deliver(message(1), message(2))

    def session() -> tuple[dict[str, Any], tuple[int, int]]:
        client = pop3.tls_client(login=None)
        caps = client.capa()
        client.user(ALICE)
        client.pass_("secret")
        stat = client.stat()
        client.quit()
        return caps, stat

    caps, stat = yield threads.deferToThread(session)
    assert "STLS" not in caps and "USER" in caps
    assert stat == (2, len(message(1)) + len(message(2)))


def _auth(port: int, lines: list[bytes], tls: bool = False) -> list[bytes]:
    """Send each line after reading one reply line; return the replies."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn: Any = client_ssl_context().wrap_socket(raw) if tls else raw
    with conn:
        reader = conn.makefile("rb")
        replies = [reader.readline()]
        for line in lines:
            conn.sendall(line + b"\r\n")
            replies.append(reader.readline())
        return replies


@pytest_twisted.inlineCallbacks
def test_auth_plain_with_initial_response(pop3: Pop3Server) -> None:
    token = base64.b64encode(b"\0alice@example.test\0secret")
    replies = yield threads.deferToThread(
        _auth, pop3.tls_port, [b"AUTH PLAIN " + token, b"STAT", b"QUIT"], True
    )
    assert replies[1:] == [b"+OK Logged in.\r\n", b"+OK 0 0\r\n", b"+OK Logging out.\r\n"]


@pytest_twisted.inlineCallbacks
def test_auth_plain_through_poplib_shortcmd(pop3: Pop3Server) -> None:
    def session() -> bytes:
        client = pop3.client(login=None)
        token = base64.b64encode(b"alice@example.test\0alice@example.test\0secret").decode()
        reply = client._shortcmd("AUTH PLAIN " + token)
        client.quit()
        return reply

    assert (yield threads.deferToThread(session)) == b"+OK Logged in."


@pytest_twisted.inlineCallbacks
def test_auth_login_with_continuations(pop3: Pop3Server) -> None:
    replies = yield threads.deferToThread(
        _auth,
        pop3.port,
        [b"AUTH LOGIN", base64.b64encode(ALICE.encode()), base64.b64encode(b"secret")],
    )
    assert replies[1:] == [b"+ VXNlcm5hbWU6\r\n", b"+ UGFzc3dvcmQ6\r\n", b"+OK Logged in.\r\n"]


@pytest_twisted.inlineCallbacks
def test_auth_with_a_wrong_password(pop3: Pop3Server) -> None:
    token = base64.b64encode(b"\0alice@example.test\0nope")
    replies = yield threads.deferToThread(_auth, pop3.port, [b"AUTH PLAIN " + token])
    assert replies[1] == b"-ERR [AUTH] Authentication failed.\r\n"


def _stls_with_injection(port: int) -> tuple[bytes, bytes]:
    """Send STLS with commands pipelined behind it in the same plaintext packet, as a man
    in the middle would, then finish the handshake and see what the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        reader = raw.makefile("rb")
        reader.readline()
        raw.sendall(b"STLS\r\nCAPA\r\nUSER alice@example.test\r\n")
        begin = reader.readline()
        tls = client_ssl_context().wrap_socket(raw)
        tls.sendall(b"PASS secret\r\n")
        first = tls.makefile("rb").readline()
        tls.close()
        return begin, first


@pytest_twisted.inlineCallbacks
def test_stls_discards_plaintext_pipelined_after_it(pop3: Pop3Server) -> None:
    begin, first = yield threads.deferToThread(_stls_with_injection, pop3.port)
    assert begin == b"+OK Begin TLS negotiation now.\r\n"
    # Neither the injected CAPA nor the injected USER was acted on.
    assert first == b"-ERR No username given.\r\n"


@pytest_twisted.inlineCallbacks
def test_stls_is_refused_on_the_implicit_tls_port(pop3: Pop3Server) -> None:
    def session() -> bytes:
        client = pop3.tls_client(login=None)
        try:
            client._shortcmd("STLS")
        except poplib.error_proto as e:
            return bytes(e.args[0])
        finally:
            client.quit()
        raise AssertionError("STLS accepted twice")

    assert (yield threads.deferToThread(session)) == b"-ERR TLS is already active."


# -- A peer that is not on loopback, through a transcript (a real one would need a second
# -- host): passwords are refused until TLS.


def _public_connection(config: Config, ctx: Any) -> tuple[Any, StringTransport]:
    from maa.pop3.server import build_factory

    protocol = build_factory(ctx, implicit_tls=False).buildProtocol(None)
    transport = StringTransport(
        hostAddress=IPv4Address("TCP", "192.0.2.1", 110),
        peerAddress=IPv4Address("TCP", "198.51.100.7", 40000),
    )
    protocol.callLater = Clock().callLater  # type: ignore[attr-defined]
    protocol.makeConnection(transport)
    return protocol, transport


def test_passwords_are_refused_before_tls_on_a_public_connection(pop3: Pop3Server) -> None:
    protocol, transport = _public_connection(pop3.ctx.config, pop3.ctx)
    assert transport.value() == b"+OK maa ready.\r\n"
    transport.clear()
    protocol.dataReceived(b"CAPA\r\n")
    caps = transport.value().split(b"\r\n")
    assert b"STLS" in caps and b"USER" not in caps
    assert not any(c.startswith(b"SASL") for c in caps)
    transport.clear()
    token = base64.b64encode(b"\0alice@example.test\0secret")
    protocol.dataReceived(
        b"USER alice@example.test\r\nPASS secret\r\nAUTH PLAIN " + token + b"\r\n"
    )
    refusal = b"-ERR [AUTH] Plaintext authentication disallowed on non-secure connections\r\n"
    assert transport.value() == refusal * 3
    protocol.connectionLost(None)


def test_idle_timeout_disconnects(pop3: Pop3Server) -> None:
    from maa.pop3.server import build_factory

    assert pop3.ctx.config.pop3.idle_timeout == 600  # RFC 1939: at least 10 minutes
    clock = Clock()
    protocol = build_factory(pop3.ctx, implicit_tls=False).buildProtocol(None)
    protocol.callLater = clock.callLater  # type: ignore[attr-defined]
    transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 40000))
    protocol.makeConnection(transport)
    clock.advance(pop3.ctx.config.pop3.idle_timeout - 1)
    protocol.dataReceived(b"NOOP\r\n")
    clock.advance(pop3.ctx.config.pop3.idle_timeout - 1)
    assert not transport.disconnecting
    clock.advance(2)
    assert transport.value().endswith(b"+OK\r\n-ERR Disconnected for inactivity.\r\n")
    assert transport.disconnecting
    protocol.connectionLost(None)
