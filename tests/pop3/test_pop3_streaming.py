"""RETR byte-exact: dot-stuffing where lines of dots fall on the send-buffer boundaries, and a
20 MB message streamed in chunks."""

from __future__ import annotations

import hashlib
import socket
from typing import Any

import pytest
import pytest_twisted
from pop3_support import Pop3Server, message
from support import client_ssl_context
from twisted.internet import threads

from maa.pop3.sender import CHUNK_SIZE


def _boundary_message() -> bytes:
    """A message where a line starting with "." begins exactly at each of the first chunk
    boundaries (and one byte either side), so the line start is only known from the
    previous chunk."""
    out = bytearray(message(0, b""))
    placements = [(0, b"."), (0, b".."), (-1, b"..."), (1, b"."), (0, b".x"), (-2, b"..")]
    for k, (shift, dots) in enumerate(placements, 1):
        start = k * CHUNK_SIZE + shift
        while start - len(out) > 80:  # filler lines short enough for poplib
            out += b"x" * 70 + b"\r\n"
        out += b"y" * (start - len(out) - 2) + b"\r\n"  # ends right at `start`
        assert len(out) == start
        out += dots + b"\r\n"
    out += b"last line\r\n"
    return bytes(out)


def _stuffed(body: bytes) -> bytes:
    lines = body.split(b"\r\n")
    assert lines[-1] == b""
    return b"\r\n".join(b"." + line if line.startswith(b".") else line for line in lines[:-1])


def _retr_raw(port: int, number: int, size_hint: int, tls: bool = False) -> bytes:
    """RETR over a raw socket; returns the reply body exactly as sent (still stuffed)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    conn: Any = client_ssl_context().wrap_socket(raw) if tls else raw
    with conn:
        reader = conn.makefile("rb", buffering=1 << 20)
        reader.readline()
        conn.sendall(f"USER alice@example.test\r\nPASS secret\r\nRETR {number}\r\n".encode())
        assert reader.readline() == b"+OK\r\n"
        assert reader.readline() == b"+OK Logged in.\r\n"
        assert reader.readline() == f"+OK {size_hint} octets\r\n".encode()
        received = bytearray()
        while not received.endswith(b"\r\n.\r\n"):
            chunk = reader.read1(1 << 20)
            assert chunk, "connection closed in the middle of the message"
            received += chunk
        conn.sendall(b"QUIT\r\n")
        assert reader.readline() == b"+OK Logging out.\r\n"
    return bytes(received[: -len(b".\r\n")])


@pytest_twisted.inlineCallbacks
def test_dot_lines_on_the_send_buffer_boundary_are_stuffed(pop3: Pop3Server) -> None:
    body = _boundary_message()
    for boundary in (CHUNK_SIZE, 2 * CHUNK_SIZE):
        assert body[boundary - 2 : boundary + 1] == b"\r\n."
    pop3.deliver(body)
    wire = yield threads.deferToThread(_retr_raw, pop3.port, 1, len(body))
    assert wire == _stuffed(body) + b"\r\n"

    def via_poplib() -> list[bytes]:
        client = pop3.client()
        _, lines, _ = client.retr(1)
        client.quit()
        return list(lines)

    lines = yield threads.deferToThread(via_poplib)
    assert b"\r\n".join(lines) + b"\r\n" == body


def _big_message(size: int) -> bytes:
    line = b"0123456789abcdef" * 4 + b"ghijklmnopqr\r\n"  # 78 octets
    head = message(1, b"")
    body = bytearray(head)
    n = 0
    while len(body) < size:
        body += b"." + line if n % 1000 == 0 else line  # a dot line now and then
        n += 1
    return bytes(body)


@pytest.mark.slow
@pytest_twisted.inlineCallbacks
def test_a_20_mb_message_arrives_byte_exact(pop3: Pop3Server) -> None:
    big = _big_message(20 * 1024 * 1024)
    pop3.deliver(big)
    assert pop3.inbox().messages()[0].size == len(big)

    def via_poplib() -> tuple[str, int]:
        client = pop3.client()
        _, lines, _ = client.retr(1)
        client.quit()
        data = b"\r\n".join(lines) + b"\r\n"
        return hashlib.sha256(data).hexdigest(), len(data)

    digest, length = yield threads.deferToThread(via_poplib)
    assert length == len(big)
    assert digest == hashlib.sha256(big).hexdigest()


@pytest_twisted.inlineCallbacks
def test_a_large_message_over_tls_arrives_byte_exact(pop3: Pop3Server) -> None:
    big = _big_message(3 * 1024 * 1024)
    pop3.deliver(big)
    wire = yield threads.deferToThread(_retr_raw, pop3.tls_port, 1, len(big), True)
    assert wire == _stuffed(big) + b"\r\n"


def _stall_during_retr(port: int, stall: float) -> bytes:
    import time

    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.sendall(b"USER alice@example.test\r\nPASS secret\r\nRETR 1\r\n")
        time.sleep(stall)  # read nothing: the server's buffers fill, then it idles
        received = bytearray()
        while chunk := s.recv(1 << 20):
            received += chunk
        return bytes(received)


@pytest_twisted.inlineCallbacks
def test_idle_timeout_in_the_middle_of_a_message_cuts_it_without_a_reply_line(
    tmp_path: Any, pop3_factory: Any
) -> None:
    """A reply line written into a half-sent message would read as message content."""
    server = pop3_factory(tmp_path / "short", pop3={"idle_timeout": 0.5})
    big = _big_message(8 * 1024 * 1024)
    server.deliver(big)
    received = yield threads.deferToThread(_stall_during_retr, server.port, 1.5)
    assert received.startswith(b"+OK maa ready.\r\n+OK\r\n+OK Logged in.\r\n")
    assert len(received) < len(big)  # cut short
    assert b"-ERR" not in received
    assert not received.endswith(b"\r\n.\r\n")


def _sized(size: int, last: bytes) -> bytes:
    """A message of exactly ``size`` bytes whose final line is ``last``."""
    out = bytearray(message(0, b""))
    while size - len(out) - len(last) > 80:
        out += b"x" * 70 + b"\r\n"
    out += b"y" * (size - len(out) - len(last) - 2) + b"\r\n" + last
    assert len(out) == size
    return bytes(out)


@pytest_twisted.inlineCallbacks
def test_messages_of_a_read_chunk_and_a_byte_either_side_arrive_whole_when_pipelined(
    pop3: Pop3Server,
) -> None:
    """The status line, the message and its terminator are written together once the read
    after the last chunk finds the end; a message that ends exactly on a chunk or one byte
    off, with or without a final CRLF or with a dot line last, must come out the same."""
    messages = [
        _sized(CHUNK_SIZE - 1, b".\r\n"),
        _sized(CHUNK_SIZE, b"..\r\n"),
        _sized(CHUNK_SIZE + 1, b"no final line end"),
        _sized(2 * CHUNK_SIZE, b".x\r\n"),
        _sized(2 * CHUNK_SIZE + 3, b".\r\n"),
    ]
    pop3.deliver(*messages)

    def session() -> bytes:
        with socket.create_connection(("127.0.0.1", pop3.port), timeout=30) as conn:
            reader = conn.makefile("rb", buffering=1 << 20)
            reader.readline()
            numbers = range(1, len(messages) + 1)
            conn.sendall(
                b"USER alice@example.test\r\nPASS secret\r\n"
                + b"".join(b"RETR %d\r\n" % n for n in numbers)
                + b"QUIT\r\n"
            )
            received = bytearray()
            while chunk := reader.read1(1 << 20):
                received += chunk
        return bytes(received)

    received = yield threads.deferToThread(session)
    expected = b"+OK\r\n+OK Logged in.\r\n"
    for body in messages:
        ended = body if body.endswith(b"\r\n") else body + b"\r\n"
        expected += b"+OK %d octets\r\n" % len(body) + _stuffed(ended) + b"\r\n.\r\n"
    expected += b"+OK Logging out.\r\n"
    assert received == expected
