"""Writing mbox files: appending messages in place, and rewriting without expunged ones.

Both are called with the folder's dotlock and exclusive fcntl lock held. An append that fails
(disk full) truncates the file back to where it was, so a half-written message is never left
behind; an expunge writes a new file beside the old one, fsyncs it and renames it over, so a
crash at any moment leaves either the old file or the new one.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from maa.storage.mbox.format import (
    FROM_,
    HEADER_SCAN_LIMIT,
    QUOTE_FROM,
    EncodeResult,
    encode_message,
    from_line,
    header_end,
    loose_fingerprint,
    without_hidden_headers,
)
from maa.storage.mbox.index import Record

# Bytes gathered before one write(2): fewer system calls for messages of many short lines.
WRITE_BUFFER = 256 * 1024
# Bytes copied per system call when an expunge rewrites a file.
COPY_CHUNK = 1024 * 1024
# Bytes copied between touches of the dotlock during a rewrite, so that a long expunge of a
# big file is never taken for a crashed one (stale locks are judged by mtime).
TOUCH_EVERY = 16 * 1024 * 1024
# Dovecot writes MAILER-DAEMON when the envelope sender is unknown (IMAP APPEND and copies of
# messages without a Return-Path header).
DEFAULT_SENDER = "MAILER-DAEMON"
TEMP_MARK = ".maa-expunge."
# Room for a Content-Length value, written before the body and filled in after it (Dovecot
# pads its headers with spaces the same way); 20 digits hold any file size.
LENGTH_PLACEHOLDER = b" " * 20
_RETURN_PATH = re.compile(rb"^Return-Path:[ \t]*<([^>\n]{0,255})>", re.MULTILINE | re.IGNORECASE)
# Beside a folder file while an append is under way: the offset the append started at. Only a
# writer holding the folder's locks makes it and removes it, so one found by anyone who holds
# a lock was left by an append that crashed, and the bytes from that offset are its debris.
INTENT_MARK = ".maa-append"


@dataclass(frozen=True, slots=True)
class Written:
    from_offset: int
    body_offset: int
    body_end: int
    size: int
    fingerprint: bytes
    loose: bytes


class _Output:
    """Buffered writes to an fd from a known offset, tracking the position."""

    def __init__(self, fd: int, position: int) -> None:
        self.fd = fd
        self.position = position
        self._pending: list[bytes] = []
        self._pending_size = 0

    def write(self, data: bytes) -> None:
        self._pending.append(data)
        self._pending_size += len(data)
        self.position += len(data)
        if self._pending_size >= WRITE_BUFFER:
            self.flush()

    def flush(self) -> None:
        view = memoryview(b"".join(self._pending))
        self._pending.clear()
        self._pending_size = 0
        while view:
            done = os.write(self.fd, view)
            view = view[done:]


def append_messages(
    fd: int, sources: Sequence[tuple[BinaryIO, float]], *, durable: bool = True
) -> list[Written]:
    """Append each (message stream, internal date) to the mbox open at ``fd``; fsync."""
    end = os.fstat(fd).st_size
    os.lseek(fd, end, os.SEEK_SET)
    out = _Output(fd, end)
    if end > 0:
        tail = os.pread(fd, 2, max(0, end - 2))
        if not tail.endswith(b"\n"):
            out.write(b"\n\n")
        elif tail != b"\n\n" and end >= 2:
            out.write(b"\n")  # another program left no empty line after its last message
    written = []
    try:
        for source, when in sources:
            written.append(_append_one(fd, out, source, when))
        out.flush()
        if durable:
            os.fsync(fd)
    except BaseException:
        os.ftruncate(fd, end)
        raise
    return written


def _append_one(fd: int, out: _Output, source: BinaryIO, when: float) -> Written:
    """Write one message as Dovecot does: its header without the fields Dovecot keeps state
    in, a ``Content-Length:`` of the body (filled in once the body is written), the body
    verbatim. A message whose header does not end within ``HEADER_SCAN_LIMIT`` is written
    mboxrd-quoted instead, with no Content-Length."""
    from_offset = out.position
    result = EncodeResult(quote=False)
    pieces = encode_message(source, result)
    taken, exhausted = _take_header(pieces)
    header = b"".join(taken)
    line = from_line(envelope_sender(header), when)
    out.write(line)
    body_offset = out.position
    blank = header_end(header)
    length_at = text_start = -1
    if blank < 0 and exhausted:
        blank = len(header)  # a message that is all header: nothing to give a length to
    if blank >= 0:
        kept = without_hidden_headers(header[:blank])
        dropped = blank - len(kept)
        result.size -= dropped + header[:blank].count(b"\n") - kept.count(b"\n")
        if result.added_lf and blank == len(header) and not kept.endswith(_last_line(header)):
            # The dropped lines included the LF added to end the message, which its size
            # never counted ("Status: RO" with no line end, all header).
            result.size += 2
        rest = header[blank:]
        if not rest and FROM_ in kept:
            kept = QUOTE_FROM.sub(b">", kept)  # no body, so no Content-Length to rely on
        out.write(kept)
        if rest:
            out.write(b"Content-Length: ")
            length_at = out.position
            out.write(LENGTH_PLACEHOLDER + b"\n")
            text_start = out.position + 1  # after the empty line that ends the header
            out.write(rest)
    else:
        result.quote = True
        out.write(QUOTE_FROM.sub(b">", header))
    for piece in pieces:
        out.write(piece)
    body_end = out.position
    out.flush()
    if length_at >= 0:
        os.pwrite(fd, b"%d" % (body_end - text_start), length_at)
    fingerprint, loose = _identity(fd, from_offset, body_offset, body_end)
    out.write(b"\n")
    return Written(from_offset, body_offset, body_end, result.size, fingerprint, loose)


def _last_line(text: bytes) -> bytes:
    """The last line of ``text`` (which ends with an LF), with its LF."""
    return text[text.rfind(b"\n", 0, len(text) - 1) + 1 :]


def _identity(fd: int, from_offset: int, body_offset: int, body_end: int) -> tuple[bytes, bytes]:
    """A written message's fingerprint and loose fingerprint, read back from the file as a
    scan would compute them (its Content-Length is only known once it is written)."""
    digest = hashlib.blake2b(digest_size=16)
    position = from_offset
    while position < body_end:
        data = os.pread(fd, min(COPY_CHUNK, body_end - position), position)
        if not data:
            raise OSError("mbox file shrank while it was locked")
        digest.update(data)
        position += len(data)
    line = os.pread(fd, body_offset - from_offset, from_offset)
    head = os.pread(fd, min(HEADER_SCAN_LIMIT, body_end - body_offset), body_offset)
    return digest.digest(), loose_fingerprint(line, head, body_end - body_offset)


def _take_header(pieces: Iterator[bytes]) -> tuple[list[bytes], bool]:
    """The first pieces of a message, up to the end of its header (or HEADER_SCAN_LIMIT),
    and whether that was the whole message."""
    taken: list[bytes] = []
    size = 0
    for piece in pieces:
        taken.append(piece)
        size += len(piece)
        if size >= HEADER_SCAN_LIMIT or b"\n\n" in b"".join(taken[-2:]) or taken[0][:1] == b"\n":
            return taken, False
    return taken, True


def envelope_sender(header: bytes) -> str:
    """The sender for the From_ line: the Return-Path delivery added (as Postfix's local(8)
    and Dovecot's LDA write it), else MAILER-DAEMON."""
    blank = header.find(b"\n\n")
    found = _RETURN_PATH.search(header, 0, len(header) if blank < 0 else blank + 1)
    if found is None or not found.group(1).strip():
        return DEFAULT_SENDER
    return found.group(1).decode("utf-8", "replace")


def intent_path(path: Path) -> Path:
    return path.with_name(f".{path.name}{INTENT_MARK}")


def write_intent(path: Path, offset: int) -> None:
    """Note that an append starts at ``offset``. Not fsynced: it guards against a crash of
    the process (whose writes the kernel keeps), at no cost to every delivery."""
    intent = intent_path(path)
    try:
        os.unlink(intent)  # never write through a link someone left in its place
    except FileNotFoundError:
        pass
    fd = os.open(intent, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, b"%d\n" % offset)
    finally:
        os.close(fd)


def read_intent(path: Path) -> int | None:
    try:
        fd = os.open(intent_path(path), os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError:  # a link, or unreadable: not ours
        return None
    try:
        text = os.read(fd, 64)
    finally:
        os.close(fd)
    try:
        return int(text.strip() or b"-1")
    except ValueError:
        return None


def clear_intent(path: Path) -> None:
    try:
        os.unlink(intent_path(path))
    except FileNotFoundError:
        pass


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}.{secrets.token_hex(4)}")


def remove_leftovers(path: Path) -> None:
    """Delete temporary files of expunges that crashed (called with the dotlock held, so no
    expunge of this file is running)."""
    prefix = f".{path.name}{TEMP_MARK}"
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        return
    for name in names:
        if name.startswith(prefix):
            try:
                os.unlink(path.parent / name)
            except FileNotFoundError:
                pass


def rewrite(
    fd: int,
    path: Path,
    keep: Sequence[Record],
    *,
    touch: Callable[[], None],
    chown: Callable[[Path], None],
) -> list[Record]:
    """Replace the file at ``path`` with one holding only ``keep`` (in file order); returns
    them with their new offsets. The new file is fsynced before it is renamed over the old
    one, and the directory after."""
    temp = temp_path(path)
    out_fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    moved = []
    try:
        os.fchmod(out_fd, os.fstat(fd).st_mode & 0o7777)
        chown(temp)
        out = _Output(out_fd, 0)
        since_touch = 0
        for record in sorted(keep, key=lambda r: r.from_offset):
            start = out.position
            position = record.from_offset
            while position < record.body_end:
                data = os.pread(fd, min(COPY_CHUNK, record.body_end - position), position)
                if not data:
                    raise OSError(f"{path} shrank while it was locked")
                out.write(data)
                position += len(data)
                since_touch += len(data)
                if since_touch >= TOUCH_EVERY:
                    touch()
                    since_touch = 0
            shift = start - record.from_offset
            moved.append(
                Record(
                    uid=record.uid,
                    from_offset=start,
                    body_offset=record.body_offset + shift,
                    body_end=record.body_end + shift,
                    size=record.size,
                    fingerprint=record.fingerprint,
                    loose=record.loose,
                    flags=record.flags,
                    internal_date=record.internal_date,
                    modseq=record.modseq,
                )
            )
            out.write(b"\n")
        out.flush()
        os.fsync(out_fd)
    except BaseException:
        os.close(out_fd)
        os.unlink(temp)
        raise
    os.close(out_fd)
    os.rename(temp, path)
    fsync_dir(path.parent)
    return moved


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
