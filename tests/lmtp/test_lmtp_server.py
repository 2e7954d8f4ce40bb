"""LMTP over real sockets: smtplib.LMTP (and raw bytes) against the in-process server."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
import support
from lmtp_client import body_of, inbox_messages, lmtp_send, raw_session

from maa.context import ServerContext

MESSAGE = (
    b"From: Sender <s@example.test>\r\nTo: alice@example.test\r\n"
    b"Message-ID: <m1@example.test>\r\nSubject: hello\r\n\r\nHi Alice.\r\n"
)


@pytest.fixture
def port(ctx: ServerContext) -> int:
    from maa.lmtp.server import build_factory

    return support.listen(build_factory(ctx, implicit_tls=False))


def user(ctx: ServerContext, name: str) -> Any:
    found = ctx.userdb.lookup(name)
    assert found is not None
    return found


@pytest_twisted.inlineCallbacks
def test_delivery_over_tcp_adds_trace_headers(ctx: ServerContext, port: int) -> Any:
    from twisted.internet import threads

    result = yield threads.deferToThread(
        lmtp_send, port, "s@example.test", ["alice@example.test"], MESSAGE
    )
    code, text = result["alice@example.test"]
    assert code == 250 and b"Saved" in text
    (stored,) = inbox_messages(ctx, user(ctx, "alice@example.test"))
    assert stored.startswith(
        b"Return-Path: <s@example.test>\r\nDelivered-To: alice@example.test\r\n"
    )
    assert (
        b"Received: from client.example ([127.0.0.1])\r\n\tby mail.example.test (maa) with LMTP"
        in stored
    )
    assert b"\tfor <alice@example.test>; " in stored
    assert stored.endswith(MESSAGE)


@pytest_twisted.inlineCallbacks
def test_delivery_over_unix_socket(ctx: ServerContext, tmp_path: Path) -> Any:
    from twisted.internet import reactor, threads

    from maa.lmtp.server import build_factory

    path = str(tmp_path / "lmtp.sock")
    listening = reactor.listenUNIX(path, build_factory(ctx, implicit_tls=False))  # type: ignore[attr-defined]
    try:
        result = yield threads.deferToThread(
            lmtp_send, path, "s@example.test", ["bob@example.test"], MESSAGE
        )
    finally:
        yield listening.stopListening()
    assert result["bob@example.test"][0] == 250
    (stored,) = inbox_messages(ctx, user(ctx, "bob@example.test"))
    assert b"Received: from client.example (local)" in stored


@pytest_twisted.inlineCallbacks
def test_multi_recipient_with_unknown_one_gets_per_recipient_codes(
    ctx: ServerContext, port: int
) -> Any:
    from twisted.internet import threads

    rcpts = ["alice@example.test", "nobody@example.test", "bob@example.test", "carol"]
    result = yield threads.deferToThread(lmtp_send, port, "s@example.test", rcpts, MESSAGE)
    assert result["nobody@example.test"][0] == 550
    assert result["nobody@example.test"][1].startswith(b"5.1.1 <nobody@example.test> User")
    for name in ("alice@example.test", "bob@example.test", "carol"):
        assert result[name][0] == 250, result
        (stored,) = inbox_messages(ctx, user(ctx, name))
        assert f"Delivered-To: {name}\r\n".encode() in stored
        assert body_of(stored) == b"Hi Alice.\r\n"


@pytest_twisted.inlineCallbacks
def test_connections_send_replies_without_nagle_delay(ctx: ServerContext) -> Any:
    import socket

    from twisted.internet import threads

    from maa.lmtp.server import LmtpFactory, LmtpProtocol

    made: list[LmtpProtocol] = []

    class Recording(LmtpFactory):
        def buildProtocol(self, addr: Any) -> LmtpProtocol:
            protocol = super().buildProtocol(addr)
            made.append(protocol)
            return protocol

    port = support.listen(Recording(ctx))

    def greeted() -> socket.socket:
        client = socket.create_connection(("127.0.0.1", port), timeout=60)
        assert client.recv(1024).startswith(b"220 ")
        return client

    client = yield threads.deferToThread(greeted)
    try:
        (protocol,) = made
        handle = protocol.transport.getHandle()
        assert handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        client.close()


@pytest_twisted.inlineCallbacks
def test_a_failed_save_is_temporary_for_that_recipient_only(ctx: ServerContext, port: int) -> Any:
    from twisted.internet import threads

    # bob's mail directory cannot be made (a file is where it should be): the disk problem
    # of one mailbox must not bounce, nor hold back, the other recipients.
    bob = Path(user(ctx, "bob@example.test").mail_location.split(":", 1)[1])
    bob.parent.mkdir(parents=True, exist_ok=True)
    bob.write_text("not a directory")
    rcpts = ["bob@example.test", "alice@example.test", "carol"]
    result = yield threads.deferToThread(lmtp_send, port, "s@example.test", rcpts, MESSAGE)
    code, text = result["bob@example.test"]
    assert code == 451 and text.startswith(b"4.") and b"<bob@example.test>" in text
    for name in ("alice@example.test", "carol"):
        assert result[name][0] == 250, result
        assert [body_of(m) for m in inbox_messages(ctx, user(ctx, name))] == [b"Hi Alice.\r\n"]


@pytest_twisted.inlineCallbacks
def test_dot_stuffed_lines_arrive_unstuffed(ctx: ServerContext, port: int) -> Any:
    from twisted.internet import threads

    message = b"Subject: dots\r\n\r\n.leading\r\n..two\r\n.\r\nend\r\n"
    yield threads.deferToThread(lmtp_send, port, "s@example.test", ["alice@example.test"], message)
    (stored,) = inbox_messages(ctx, user(ctx, "alice@example.test"))
    assert stored.endswith(message)


@pytest_twisted.inlineCallbacks
def test_8bit_body_is_stored_byte_exact(ctx: ServerContext, port: int) -> Any:
    from twisted.internet import threads

    body = bytes(b for b in range(1, 256) if b not in (10, 13)) + b"\r\n" + "é€😀".encode() * 50
    message = b"Subject: 8bit\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body + b"\r\n"
    yield threads.deferToThread(lmtp_send, port, "s@example.test", ["alice@example.test"], message)
    (stored,) = inbox_messages(ctx, user(ctx, "alice@example.test"))
    assert stored.endswith(message)


@pytest_twisted.inlineCallbacks
def test_detail_delivers_to_existing_folder_else_inbox(ctx: ServerContext, port: int) -> Any:
    from twisted.internet import threads

    alice = user(ctx, "alice@example.test")
    yield threads.deferToThread(
        lmtp_send, port, "s@example.test", ["alice+Junk@example.test"], MESSAGE
    )
    yield threads.deferToThread(
        lmtp_send, port, "s@example.test", ["alice+nothere@example.test"], MESSAGE
    )
    assert len(inbox_messages(ctx, alice, "Junk")) == 1
    (inbox,) = inbox_messages(ctx, alice)
    assert b"Delivered-To: alice+nothere@example.test\r\n" in inbox


@pytest_twisted.inlineCallbacks
def test_bdat_chunks_over_the_wire(ctx: ServerContext, port: int) -> Any:
    from twisted.internet import threads

    wire = yield threads.deferToThread(
        raw_session,
        port,
        [
            b"LHLO c\r\nMAIL FROM:<s@example.test> BODY=8BITMIME\r\n",
            b"RCPT TO:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\n",
            b"BDAT 18\r\nSubject: b\r\n\r\nab\r\n",
            b"BDAT 4 LAST\r\nc\x00d\nQUIT\r\n",
        ],
    )
    codes = [int(line[:3]) for line in wire.split(b"\r\n") if line[3:4] == b" "]
    assert codes == [220, 250, 250, 250, 250, 250, 250, 250, 221]
    assert b"250 2.0.0 18 octets received\r\n" in wire
    assert wire.count(b"Saved") == 2
    (stored,) = inbox_messages(ctx, user(ctx, "alice@example.test"))
    assert body_of(stored) == b"ab\r\nc\x00d\r\n"


@pytest_twisted.inlineCallbacks
def test_pipelined_transactions_and_rset(ctx: ServerContext, port: int) -> Any:
    from twisted.internet import threads

    one = b"MAIL FROM:<s@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
    wire = yield threads.deferToThread(
        raw_session,
        port,
        [
            b"LHLO c\r\n" + one + b"Subject: 1\r\n\r\none\r\n.\r\n"
            b"MAIL FROM:<s@example.test>\r\nRSET\r\nVRFY alice\r\nNOOP\r\n"
            + one
            + b"Subject: 2\r\n\r\ntwo\r\n.\r\nQUIT\r\n"
        ],
    )
    codes = [int(line[:3]) for line in wire.split(b"\r\n") if line[3:4] == b" "]
    assert codes == [220, 250, 250, 250, 354, 250, 250, 250, 252, 250, 250, 250, 354, 250, 221]
    stored = inbox_messages(ctx, user(ctx, "alice@example.test"))
    assert [body_of(m) for m in stored] == [b"one\r\n", b"two\r\n"]


@pytest_twisted.inlineCallbacks
def test_ehlo_is_unknown_in_lmtp(port: int) -> Any:
    from twisted.internet import threads

    wire = yield threads.deferToThread(raw_session, port, [b"EHLO c\r\nQUIT\r\n"])
    assert b"500 5.5.1 Unknown command\r\n" in wire


@pytest_twisted.inlineCallbacks
def test_smuggled_transaction_stays_inside_one_message(ctx: ServerContext, port: int) -> Any:
    from twisted.internet import threads

    wire = yield threads.deferToThread(
        raw_session,
        port,
        [
            b"LHLO c\r\nMAIL FROM:<s@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
            b"Subject: real\r\n\r\nreal\n.\nMAIL FROM:<x@example.test>\r\n"
            b"RCPT TO:<bob@example.test>\r\nDATA\r\nSubject: fake\r\n\r\nfake\r\n.\r\nQUIT\r\n"
        ],
    )
    assert wire.count(b"Saved") == 1
    (stored,) = inbox_messages(ctx, user(ctx, "alice@example.test"))
    assert b"Subject: fake" in stored
    assert inbox_messages(ctx, user(ctx, "bob@example.test")) == []


@pytest_twisted.inlineCallbacks
def test_line_and_recipient_limits_come_from_the_config(tmp_path: Path) -> Any:
    from twisted.internet import reactor, threads

    from maa.config import load_config
    from maa.lmtp.server import build_factory
    from maa.service import build_context

    limits = {"max_line_length": 80, "max_recipients": 2}
    config = load_config(support.write_config(tmp_path / "etc", lmtp=limits))
    limited = support.listen(build_factory(build_context(config, reactor), implicit_tls=False))
    long_rcpt = b"RCPT TO:<" + b"a" * 80 + b"@example.test>\r\n"
    wire = yield threads.deferToThread(
        raw_session,
        limited,
        [
            b"LHLO c\r\nMAIL FROM:<s@example.test>\r\n" + long_rcpt,
            b"RCPT TO:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\n"
            b"RCPT TO:<carol>\r\nQUIT\r\n",
        ],
    )
    replies = [line for line in wire.split(b"\r\n") if line[3:4] == b" "]
    assert replies[3:] == [
        b"500 5.5.2 Line too long",
        b"250 2.1.5 OK",
        b"250 2.1.5 OK",
        b"452 4.5.3 Error: too many recipients",
        b"221 2.0.0 mail.example.test Bye",
    ]


@pytest_twisted.inlineCallbacks
def test_message_over_the_limit_gets_a_552_for_each_recipient(tmp_path: Path) -> Any:
    from twisted.internet import reactor, threads

    from maa.config import load_config
    from maa.lmtp.server import build_factory
    from maa.service import build_context

    config = load_config(support.write_config(tmp_path / "etc", mail={"max_message_size": 1000}))
    limited = support.listen(build_factory(build_context(config, reactor), implicit_tls=False))
    big = MESSAGE + b"x" * 2000 + b"\r\n"
    logger = logging.getLogger("maa.lmtp")
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        result = yield threads.deferToThread(
            lmtp_send, limited, "s@example.test", ["alice@example.test", "bob@example.test"], big
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    for name in ("alice@example.test", "bob@example.test"):
        assert result[name] == (552, b"5.3.4 Message size exceeds fixed maximum message size")
    assert any(line.endswith(": rejected: message larger than 1000 bytes") for line in lines)


@pytest_twisted.inlineCallbacks
def test_a_delivery_started_in_the_reactor_is_answered_once_durable(
    ctx: ServerContext, port: int, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """After the first delivery opened alice's INBOX, small messages are written from the
    reactor and only the sync runs elsewhere: the 250 still waits for that sync."""
    import threading

    from twisted.internet import threads

    from maa.lmtp import server
    from maa.storage.maildir import durable, state

    if not durable.CAN_SYNC_FILESYSTEM:
        pytest.skip("needs syncfs(2)")
    in_threads: list[str] = []  # recipients whose delivery ran in a delivery thread
    real_deliver_one = server._deliver_one

    def deliver_one(*args: Any) -> Any:
        in_threads.append(args[4])
        return real_deliver_one(*args)

    monkeypatch.setattr(server, "_deliver_one", deliver_one)
    first = yield threads.deferToThread(
        lmtp_send, port, "s@example.test", ["alice@example.test"], MESSAGE
    )
    assert first["alice@example.test"][0] == 250
    syncing, release = threading.Event(), threading.Event()
    for name in ("sync_filesystem", "sync_file_data", "fsync_dir"):
        real = getattr(state, name)

        def held(path: Path, real: Any = real) -> None:
            syncing.set()
            assert release.wait(60)
            real(path)

        monkeypatch.setattr(state, name, held)
    second = threads.deferToThread(
        lmtp_send, port, "s@example.test", ["alice@example.test", "carol"], MESSAGE
    )
    held = yield threads.deferToThread(syncing.wait, 60)
    assert held
    assert not second.called  # no reply before the sync has returned
    inbox = Path(user(ctx, "alice@example.test").mail_location.split(":", 1)[1])
    assert len(os.listdir(inbox / "new")) == 1  # nor a name for the file in new/
    release.set()
    result = yield second
    assert result["alice@example.test"][0] == 250 and result["carol"][0] == 250
    assert len(inbox_messages(ctx, user(ctx, "alice@example.test"))) == 2
    assert len(inbox_messages(ctx, user(ctx, "carol"))) == 1
    # alice's second message took no thread; carol's first (her INBOX not yet open) did.
    assert in_threads == ["alice@example.test", "carol"]
