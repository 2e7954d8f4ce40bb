"""Protocol transcripts over StringTransport: what a non-loopback peer sees, autologout."""

from __future__ import annotations

import base64
from collections.abc import Callable

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


def test_autologout_applies_to_a_session_in_idle(imap_ctx: ServerContext) -> None:
    """RFC 3501 5.4 and RFC 2177: an idling client must re-issue IDLE within the timer (29
    minutes against 30); one that sends nothing at all is logged out at the timeout, not
    kept forever, and not earlier. What the server writes meanwhile (the IDLE poll, a new
    message's EXISTS) is no activity of the client's."""
    from dataclasses import replace

    class ReactorClock(Clock):
        def callFromThread(self, f: Callable[..., object], *args: object) -> None:
            f(*args)

    timeout = 120.0
    clock = ReactorClock()
    imap = replace(imap_ctx.config.imap, autologout=timeout)
    ctx = replace(imap_ctx, config=replace(imap_ctx.config, imap=imap))
    proto, transport = connect(ctx, host="127.0.0.1", clock=clock)
    proto.dataReceived(b"a LOGIN alice@example.test secret\r\nb SELECT INBOX\r\nc IDLE\r\n")
    assert transport.value().endswith(b"+ idling\r\n"), transport.value()
    # A client that re-issues IDLE before the timer runs out stays.
    clock.pump([1.0] * int(timeout - 10))
    proto.dataReceived(b"DONE\r\nd IDLE\r\n")
    transport.clear()
    clock.pump([1.0] * 30)
    store = proto.session.store
    assert store is not None
    store.folder("INBOX").append(b"Subject: hi\r\n\r\nbody\r\n")
    clock.pump([1.0] * int(timeout - 31))
    assert b"* 1 EXISTS" in transport.value()
    assert not transport.disconnecting and b"BYE" not in transport.value()
    clock.advance(1.5)
    assert transport.value().endswith(b"* BYE Autologout; idle for too long\r\n")
    assert transport.disconnecting
    proto.connectionLost(None)
