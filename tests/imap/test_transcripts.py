"""Protocol transcripts over StringTransport: what a non-loopback peer sees, autologout."""

from __future__ import annotations

import base64

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from maa.context import ServerContext


def connect(ctx: ServerContext, host: str = "192.0.2.7", clock: Clock | None = None):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from maa.imap.server import build_factory

    if clock is not None:
        ctx = replace(ctx, reactor=clock)
    proto = build_factory(ctx, implicit_tls=False).buildProtocol(None)
    transport = StringTransport(
        hostAddress=IPv4Address("TCP", "192.0.2.1", 143),
        peerAddress=IPv4Address("TCP", host, 40000),
    )
    proto.makeConnection(transport)
    return proto, transport


def test_non_loopback_without_tls_refuses_plaintext_auth(imap_ctx: ServerContext) -> None:
    proto, transport = connect(imap_ctx)
    greeting = transport.value()
    assert b"LOGINDISABLED" in greeting
    assert b"AUTH=PLAIN" not in greeting and b"STARTTLS" in greeting
    transport.clear()
    proto.dataReceived(b"a LOGIN alice@example.test secret\r\n")
    assert transport.value().startswith(b"a NO [PRIVACYREQUIRED]")
    transport.clear()
    token = base64.b64encode(b"\0alice@example.test\0secret")
    proto.dataReceived(b"b AUTHENTICATE PLAIN " + token + b"\r\n")
    assert transport.value().startswith(b"b NO [PRIVACYREQUIRED]")
    transport.clear()
    proto.dataReceived(b"c CAPABILITY\r\n")
    assert b"LOGINDISABLED" in transport.value()
    proto.connectionLost(None)


def test_loopback_allows_plaintext_auth(imap_ctx: ServerContext) -> None:
    proto, transport = connect(imap_ctx, host="127.0.0.1")
    assert b"AUTH=PLAIN" in transport.value()
    assert b"LOGINDISABLED" not in transport.value()
    proto.connectionLost(None)


def test_autologout_closes_an_idle_connection(imap_ctx: ServerContext) -> None:
    clock = Clock()
    proto, transport = connect(imap_ctx, host="127.0.0.1", clock=clock)
    timeout = imap_ctx.config.imap.autologout
    clock.advance(timeout - 1)
    proto.dataReceived(b"a NOOP\r\n")  # activity resets the timer
    clock.advance(timeout - 1)
    assert not transport.disconnecting
    clock.advance(2)
    assert b"* BYE Autologout" in transport.value()
    assert transport.disconnecting
    proto.connectionLost(None)
