"""The SMTP front's glue for a client that is not on this host. Tests can only reach the
listeners over loopback, which is trusted with cleartext AUTH and is in the default
``mynetworks``; here the real session protocol runs over Twisted's ``StringTransport``, whose
peer is 192.168.1.1, so the off-loopback rules are checked where connections take them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest_twisted
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport

from maa.context import ServerContext

PEER = IPv4Address("TCP", "192.168.1.1", 40000)
# "\0alice@example.test\0secret"
AUTH_ALICE = b"AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=\r\n"


class Client:
    """One session of the real factory's protocol, fed lines, its replies collected."""

    def __init__(self, factory: Any) -> None:
        self.transport = StringTransport(peerAddress=PEER)
        self.protocol = factory.buildProtocol(PEER)
        self.protocol.makeConnection(self.transport)
        self.greeting = self.read()

    def read(self) -> bytes:
        out = self.transport.value()
        self.transport.clear()
        return bytes(out)

    def send(self, line: bytes) -> bytes:
        self.protocol.dataReceived(line)
        return self.read()

    def close(self) -> None:
        self.protocol.connectionLost(None)


def submission(ctx: ServerContext, *, implicit_tls: bool) -> Client:
    from maa.submission.server import build_factory

    return Client(build_factory(ctx, implicit_tls=implicit_tls))


def port_25(ctx: ServerContext) -> Client:
    from maa.submission.server import build_mx_factory

    return Client(build_mx_factory(ctx))


def test_auth_refused_before_starttls_off_loopback(ctx: ServerContext, maillog) -> None:
    c = submission(ctx, implicit_tls=False)
    assert c.greeting.startswith(b"220 ")
    ehlo = c.send(b"EHLO client.test\r\n")
    assert b"STARTTLS" in ehlo and b"AUTH" not in ehlo
    assert c.send(AUTH_ALICE).startswith(b"538 5.7.11 ")
    # No AUTH, so no MAIL either: the password never crossed in the clear.
    assert c.send(b"MAIL FROM:<alice@example.test>\r\n").startswith(b"530 5.7.0 ")
    c.close()
    assert "connect from unknown[192.168.1.1]" in maillog.text
    assert "NOQUEUE: reject: MAIL from unknown[192.168.1.1]: 530 5.7.0" in maillog.text


@pytest_twisted.inlineCallbacks
def test_auth_accepted_under_tls_off_loopback(ctx: ServerContext) -> Any:
    from twisted.internet import reactor, task

    c = submission(ctx, implicit_tls=True)  # the 465 listener: TLS from the first byte
    ehlo = c.send(b"EHLO client.test\r\n")
    assert b"AUTH PLAIN LOGIN" in ehlo and b"STARTTLS" not in ehlo
    out = c.send(AUTH_ALICE)
    for _ in range(200):  # the password check answers from a worker thread
        if out:
            break
        yield task.deferLater(reactor, 0.01, lambda: None)
        out = c.read()
    assert out.startswith(b"235 2.7.0 ")
    assert c.send(b"MAIL FROM:<alice@example.test>\r\n").startswith(b"250 ")
    c.close()


def test_port_25_relays_for_nobody_off_loopback(ctx: ServerContext, maillog) -> None:
    assert ctx.config.smtp.mynetworks == ["127.0.0.0/8", "::1/128"]
    c = port_25(ctx)
    c.send(b"EHLO outside.test\r\n")
    assert c.send(b"MAIL FROM:<someone@outside.test>\r\n").startswith(b"250 ")
    foreign = c.send(b"RCPT TO:<victim@remote.test>\r\n")
    assert foreign == b"554 5.7.1 <victim@remote.test>: Relay access denied\r\n"
    # The percent hack and a source route name a foreign domain too.
    assert c.send(b"RCPT TO:<victim%remote.test@example.test>\r\n").startswith(b"550 ")
    assert c.send(b"RCPT TO:<@example.test:victim@remote.test>\r\n").startswith(b"554 ")
    assert c.send(b"RCPT TO:<bob@example.test>\r\n").startswith(b"250 ")
    c.close()
    assert "reject: RCPT from unknown[192.168.1.1]: 554 5.7.1" in maillog.text


def test_port_25_relays_for_mynetworks(make_ctx: Callable[..., ServerContext]) -> None:
    ctx = make_ctx(smtp={"mynetworks": ["192.168.0.0/16"]})
    c = port_25(ctx)
    c.send(b"EHLO lan.test\r\n")
    c.send(b"MAIL FROM:<printer@lan.test>\r\n")
    assert c.send(b"RCPT TO:<someone@remote.test>\r\n").startswith(b"250 ")
    c.close()
