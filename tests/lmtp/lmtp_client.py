"""Blocking LMTP client helpers for tests (run them in a thread: the reactor serves)."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from maa.auth.model import MailUser
from maa.storage.interface import INBOX


def lmtp_send(
    where: int | str, sender: str, recipients: list[str], message: bytes
) -> dict[str, tuple[int, bytes]]:
    """One transaction with smtplib.LMTP; the reply for every recipient (RCPT failures
    included). ``where``: a TCP port on 127.0.0.1 or a UNIX socket path."""
    if isinstance(where, int):
        client = smtplib.LMTP("127.0.0.1", where, timeout=60)
    else:
        client = smtplib.LMTP(where, timeout=60)
    try:
        client.ehlo("client.example")
        code, text = client.mail(sender)
        assert code == 250, text
        results: dict[str, tuple[int, bytes]] = {}
        accepted: list[str] = []
        for rcpt in recipients:
            code, text = client.rcpt(rcpt)
            results[rcpt] = (code, text)
            if code == 250:
                accepted.append(rcpt)
        if accepted:
            # smtplib reads one reply after DATA; LMTP sends one per accepted recipient.
            results[accepted[0]] = client.data(message)
            for rcpt in accepted[1:]:
                results[rcpt] = client.getreply()
        client.quit()
        return results
    finally:
        client.close()


def raw_session(port: int, chunks: Iterable[bytes], until: bytes = b"221 ") -> bytes:
    """Send bytes on a raw socket and read every reply until ``until`` appears."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        for chunk in chunks:
            s.sendall(chunk)
        received = b""
        while until not in received:
            data = s.recv(65536)
            if not data:
                break
            received += data
        return received


def stream_message(port: int, rcpt: str, size: int, line: bytes) -> bytes:
    """DATA of about ``size`` bytes made of ``line`` repeated, never held whole in memory."""
    block = line * max(1, 65536 // len(line))

    def chunks() -> Iterator[bytes]:
        yield b"LHLO c\r\nMAIL FROM:<s@example.test>\r\nRCPT TO:<" + rcpt.encode() + b">\r\n"
        yield b"DATA\r\n"
        yield b"Subject: big\r\n\r\n"
        sent = 0
        while sent < size:
            yield block
            sent += len(block)
        yield b".\r\nQUIT\r\n"

    return raw_session(port, chunks())


def inbox_messages(ctx: Any, user: MailUser, folder: str = INBOX) -> list[bytes]:
    store = ctx.stores.open(user)
    box = store.folder(folder)
    box.refresh()
    return [box.read(info.uid) for info in box.messages()]


def body_of(message: bytes) -> bytes:
    """The message after the trace headers the delivery added."""
    return message.split(b"\r\n\r\n", 1)[1]


def maildir_files(root: Path) -> list[Path]:
    return sorted(p for sub in ("new", "cur") for p in (root / sub).iterdir())
