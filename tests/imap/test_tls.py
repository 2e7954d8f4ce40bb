"""STARTTLS, implicit TLS (993) and plaintext-auth policy."""

from __future__ import annotations

import imaplib

import pytest
import pytest_twisted
from clients import ALICE, RawClient, ok
from support import PASSWORD, client_ssl_context, listen
from twisted.internet import threads

from maa.context import ServerContext


@pytest_twisted.inlineCallbacks
def test_starttls_then_login(imap_port: int) -> None:
    def client() -> None:
        m = imaplib.IMAP4("127.0.0.1", imap_port, timeout=10)
        ok(m.starttls(client_ssl_context()))
        caps = ok(m.capability())[0]
        assert b"STARTTLS" not in caps.split()  # type: ignore[union-attr]
        assert b"AUTH=PLAIN" in caps.split()  # type: ignore[union-attr]
        ok(m.login(ALICE, PASSWORD))
        assert m.starttls is not None
        m.logout()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_starttls_command_injection_is_discarded(imap_port: int) -> None:
    """Regression (CVE-2011-0411 class): a command pipelined behind STARTTLS in plaintext
    must not run once TLS is up, or a man in the middle could inject it."""

    def client() -> None:
        raw = RawClient(imap_port)
        raw.send(b"a STARTTLS\r\nb LOGIN alice@example.test secret\r\n")
        assert raw.line() == b"a OK Begin TLS negotiation now."
        assert raw.buf == b""
        context = client_ssl_context()
        raw.sock = context.wrap_socket(raw.sock)
        # The injected LOGIN never ran: we are still not authenticated, and no reply for
        # tag "b" ever comes.
        lines = raw.command(b"c", b"SELECT INBOX")
        assert lines == [b"c BAD Not logged in"], lines
        assert not any(line.startswith(b"b ") for line in lines)
        raw.close()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_starttls_twice_is_refused(imap_port: int) -> None:
    def client() -> None:
        m = imaplib.IMAP4("127.0.0.1", imap_port, timeout=10)
        ok(m.starttls(client_ssl_context()))
        with pytest.raises(imaplib.IMAP4.error, match="TLS is already active"):
            m._simple_command("STARTTLS")
        ok(m.noop())

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_implicit_tls(imap_ctx: ServerContext) -> None:
    from maa.imap.server import build_factory
    from maa.tls import wrap_implicit

    port = listen(wrap_implicit(build_factory(imap_ctx, implicit_tls=True), imap_ctx.tls))

    def client() -> None:
        m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=client_ssl_context(), timeout=10)
        caps = ok(m.capability())[0]
        assert b"STARTTLS" not in caps.split()  # type: ignore[union-attr]
        ok(m.login(ALICE, PASSWORD))
        ok(m.select("INBOX"))
        m.logout()

    yield threads.deferToThread(client)
