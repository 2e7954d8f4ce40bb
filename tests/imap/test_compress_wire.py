"""COMPRESS=DEFLATE (RFC 4978) over real sockets: a client wrapping its socket with zlib
after the tagged OK, in plaintext, after STARTTLS and on implicit TLS."""

from __future__ import annotations

import socket
import ssl
import zlib

import pytest_twisted
from clients import ALICE
from support import PASSWORD, client_ssl_context, listen
from twisted.internet import threads

from maa.context import ServerContext

BIG = b"From: a@example.test\r\nSubject: big\r\n\r\n" + b"0123456789abcdef\r\n" * 20000


class DeflateClient:
    """Line client that turns on raw deflate both ways once COMPRESS is accepted."""

    def __init__(self, sock: socket.socket | ssl.SSLSocket) -> None:
        self.sock = sock
        self.buf = b""
        self.out: zlib._Compress | None = None
        self.inflate: zlib._Decompress | None = None
        self.greeting = self.line()

    def send(self, data: bytes) -> None:
        if self.out is not None:
            data = self.out.compress(data) + self.out.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(self.buf)
        self.buf += self.inflate.decompress(chunk) if self.inflate else chunk

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._more()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def exactly(self, size: int) -> bytes:
        while len(self.buf) < size:
            self._more()
        data, self.buf = self.buf[:size], self.buf[size:]
        return data

    def command(self, tag: bytes, text: bytes) -> list[bytes]:
        self.send(tag + b" " + text + b"\r\n")
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def compress(self) -> None:
        assert self.command(b"z", b"COMPRESS DEFLATE") == [b"z OK DEFLATE active"]
        assert self.buf == b""
        self.out = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)


def exercise(client: DeflateClient) -> None:
    """Everything a session does, compressed: login state, APPEND with a literal, a large
    FETCH streamed from the file, a second COMPRESS refused."""
    client.send(b"a APPEND INBOX {%d}\r\n" % len(BIG))
    assert client.line().startswith(b"+")
    client.send(BIG + b"\r\n")
    assert client.line().startswith(b"a OK [APPENDUID")
    lines = client.command(b"s", b"SELECT INBOX")
    assert lines[-1].startswith(b"s OK")
    client.send(b"f FETCH 1 BODY.PEEK[]\r\n")
    head = client.line()
    assert head == b"* 1 FETCH (BODY[] {%d}" % len(BIG), head
    assert client.exactly(len(BIG)) == BIG
    assert client.line() == b")"
    assert client.line().startswith(b"f OK")
    again = client.command(b"y", b"COMPRESS DEFLATE")
    assert again == [b"y NO [COMPRESSIONACTIVE] DEFLATE active via COMPRESS"]
    assert client.command(b"o", b"LOGOUT")[-1].startswith(b"o OK")


@pytest_twisted.inlineCallbacks
def test_compress_in_plaintext(imap_port: int) -> None:
    def run() -> None:
        client = DeflateClient(socket.create_connection(("127.0.0.1", imap_port), timeout=10))
        assert b"COMPRESS=DEFLATE" in client.greeting
        client.command(b"l", f"LOGIN {ALICE} {PASSWORD}".encode())
        client.compress()
        exercise(client)

    yield threads.deferToThread(run)


@pytest_twisted.inlineCallbacks
def test_compress_after_starttls(imap_port: int) -> None:
    def run() -> None:
        sock = socket.create_connection(("127.0.0.1", imap_port), timeout=10)
        client = DeflateClient(sock)
        assert client.command(b"t", b"STARTTLS")[-1].startswith(b"t OK")
        client.sock = client_ssl_context().wrap_socket(sock)
        client.command(b"l", f"LOGIN {ALICE} {PASSWORD}".encode())
        client.compress()
        exercise(client)

    yield threads.deferToThread(run)


@pytest_twisted.inlineCallbacks
def test_compress_on_implicit_tls(imap_ctx: ServerContext) -> None:
    from maa.imap.server import build_factory
    from maa.tls import wrap_implicit

    port = listen(wrap_implicit(build_factory(imap_ctx, implicit_tls=True), imap_ctx.tls))

    def run() -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        client = DeflateClient(client_ssl_context().wrap_socket(sock))
        client.command(b"l", f"LOGIN {ALICE} {PASSWORD}".encode())
        client.compress()
        exercise(client)

    yield threads.deferToThread(run)


@pytest_twisted.inlineCallbacks
def test_command_sent_right_behind_compress_is_inflated(imap_port: int) -> None:
    """Bytes that arrive in the same packet as COMPRESS are already deflated."""

    def run() -> None:
        client = DeflateClient(socket.create_connection(("127.0.0.1", imap_port), timeout=10))
        client.command(b"l", f"LOGIN {ALICE} {PASSWORD}".encode())
        deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        noop = deflate.compress(b"n NOOP\r\n") + deflate.flush(zlib.Z_SYNC_FLUSH)
        client.sock.sendall(b"z COMPRESS DEFLATE\r\n" + noop)
        assert client.line() == b"z OK DEFLATE active"
        client.inflate = zlib.decompressobj(-15)
        client.buf = client.inflate.decompress(client.buf)
        client.out = deflate
        assert client.line().startswith(b"n OK")

    yield threads.deferToThread(run)


@pytest_twisted.inlineCallbacks
def test_corrupt_deflate_stream_closes_only_that_connection(imap_port: int) -> None:
    """Regression: garbage after COMPRESS ends that session; others carry on."""

    def run() -> None:
        bystander = DeflateClient(socket.create_connection(("127.0.0.1", imap_port), timeout=10))
        bystander.command(b"l", f"LOGIN {ALICE} {PASSWORD}".encode())
        client = DeflateClient(socket.create_connection(("127.0.0.1", imap_port), timeout=10))
        client.command(b"l", f"LOGIN {ALICE} {PASSWORD}".encode())
        client.compress()
        client.sock.sendall(b"\xff\xfe this is not deflate \x00\x01")
        assert client.sock.recv(100) == b""  # closed
        assert bystander.command(b"n", b"NOOP")[-1].startswith(b"n OK")

    yield threads.deferToThread(run)


@pytest_twisted.inlineCallbacks
def test_unknown_mechanism_and_before_login(imap_port: int) -> None:
    def run() -> None:
        client = DeflateClient(socket.create_connection(("127.0.0.1", imap_port), timeout=10))
        assert client.command(b"a", b"COMPRESS DEFLATE")[-1].startswith(b"a BAD")
        client.command(b"l", f"LOGIN {ALICE} {PASSWORD}".encode())
        assert client.command(b"b", b"COMPRESS LZMA")[-1].startswith(b"b BAD")
        assert client.command(b"n", b"NOOP")[-1].startswith(b"n OK")  # still plaintext

    yield threads.deferToThread(run)


@pytest_twisted.inlineCallbacks
def test_decompression_bomb_is_refused_as_a_long_line(imap_port: int) -> None:
    """Regression: 64 MiB deflated into ~64 KiB is inflated a bounded step at a time and
    refused as an over-long line; the session goes on."""

    def run() -> None:
        client = DeflateClient(socket.create_connection(("127.0.0.1", imap_port), timeout=30))
        client.command(b"l", f"LOGIN {ALICE} {PASSWORD}".encode())
        client.compress()
        assert client.out is not None
        bomb = client.out.compress(b"x NOOP " + b"A" * (64 << 20))
        client.sock.sendall(bomb)
        line = client.command(b"n", b"\r\nn NOOP")
        assert line[0].startswith(b"x BAD") and b"too long" in line[0], line
        assert line[-1].startswith(b"n OK")

    yield threads.deferToThread(run)


@pytest_twisted.inlineCallbacks
def test_idle_updates_arrive_through_the_compressed_stream(imap_port: int) -> None:
    """Each batch is flushed: an EXISTS told during IDLE is readable at once."""

    def run() -> None:
        client = DeflateClient(socket.create_connection(("127.0.0.1", imap_port), timeout=10))
        client.command(b"l", f"LOGIN {ALICE} {PASSWORD}".encode())
        client.compress()
        client.command(b"s", b"SELECT INBOX")
        client.send(b"i IDLE\r\n")
        assert client.line().startswith(b"+")
        other = DeflateClient(socket.create_connection(("127.0.0.1", imap_port), timeout=10))
        other.command(b"l", f"LOGIN {ALICE} {PASSWORD}".encode())
        message = b"Subject: hi\r\n\r\nhello\r\n"
        other.send(b"a APPEND INBOX {%d+}\r\n" % len(message) + message + b"\r\n")
        assert other.line().startswith(b"a OK")
        assert client.line() == b"* 1 EXISTS"
        client.send(b"DONE\r\n")
        lines = [client.line()]
        while not lines[-1].startswith(b"i "):
            lines.append(client.line())
        assert lines[-1].startswith(b"i OK")

    yield threads.deferToThread(run)
