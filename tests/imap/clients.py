"""Clients and shortcuts for driving maa's IMAP server from a thread."""

from __future__ import annotations

import imaplib
import socket
import ssl

from support import PASSWORD

ALICE = "alice@example.test"
BOB = "bob@example.test"

MESSAGE = (
    b"From: Bob Example <bob@example.test>\r\n"
    b"To: alice@example.test\r\n"
    b"Cc: carol@example.test\r\n"
    b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= from Bob\r\n"
    b"Date: Tue, 05 Mar 2024 10:00:00 +0100\r\n"
    b"Message-ID: <1@example.test>\r\n"
    b"X-Tag: blue\r\n"
    b"\r\n"
    b"Hello Alice,\r\nthe quick brown fox.\r\n"
)

MULTIPART = (
    b"From: carol@example.test\r\n"
    b"To: alice@example.test\r\n"
    b"Subject: parts\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"first part zebra\r\n"
    b"--b1\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"AAECAw==\r\n"
    b"--b1--\r\n"
)


def login(port: int, user: str = ALICE) -> imaplib.IMAP4:
    client = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    client.login(user, PASSWORD)
    return client


def ok(result: tuple[str, list[object]]) -> list[object]:
    status, data = result
    assert status == "OK", (status, data)
    return data


class RawClient:
    """A line-level client for what imaplib cannot send (pipelining, SASL-IR, IDLE)."""

    def __init__(self, port: int, *, context: ssl.SSLContext | None = None) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock: socket.socket = context.wrap_socket(sock) if context else sock
        self.buf = b""
        self.greeting = self.line()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed; buffered {self.buf!r}")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def until_tagged(self, tag: bytes) -> list[bytes]:
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def command(self, tag: bytes, text: bytes) -> list[bytes]:
        self.send(tag + b" " + text + b"\r\n")
        return self.until_tagged(tag)

    def close(self) -> None:
        self.sock.close()
