"""The mbox file format: ``From `` separator lines, body quoting, LF on disk and CRLF shown.

On disk each message is ``From <sender> <asctime date>\\n``, the message with LF line ends, then
one empty line. A message is stored in one of two ways, told apart by its own header:

- as Dovecot writes it: the body verbatim, its length on disk in a ``Content-Length:`` header
  (which is what keeps a ``From `` line inside it from being taken for a separator). Dovecot
  neither quotes nor unquotes ``From `` lines, so this is the form both read byte for byte;
- mboxrd, for a header too long to hold a ``Content-Length:`` (and as other programs write
  without one): every line matching ``>*From `` gets one more ``>``, and reading takes one
  ``>`` off every ``>+From `` line.

A message is taken as verbatim exactly when its header has one ``Content-Length:`` equal to
the length of its body on disk. Dovecot's state headers (``mbox_hide_headers``: Status,
X-Status, X-Keywords, X-UID, X-IMAPbase, X-IMAP, Content-Length) are never shown to readers.

Everything here streams: a message is handled a block of whole lines (or ``LINE_CHUNK`` bytes
of a long line) at a time, never whole, and a file is scanned through ``mmap`` without copying
it.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import mmap
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

FROM_ = b"From "
# The longest piece of one line held at once. Lines longer than this (base64 without line
# breaks, hostile input) are processed in pieces of about this size, so memory stays bounded.
LINE_CHUNK = 64 * 1024
# Bytes read from a message source at a time; whole lines in a block are handled by a few
# C-level bytes operations rather than line by line.
READ_BLOCK = 256 * 1024
# Slices of a mapped file hashed or counted at a time: big enough that per-call overhead
# vanishes, small enough that a 1 GB mbox is never copied whole.
SCAN_SLICE = 1024 * 1024
# A From_ line longer than this is not one (it would be a body line that happens to start
# with "From " in a file some other program wrote without quoting).
MAX_FROM_LINE = 1000
# How much of a message's head is searched for Dovecot's X-UID/Status headers.
HEADER_SCAN_LIMIT = 64 * 1024

_QUOTED_FROM = re.compile(rb"^>+From ", re.MULTILINE)
QUOTE_FROM = re.compile(rb"^(?=>*From )", re.MULTILINE)  # where mboxrd adds a ">"
_UNQUOTE_FROM = re.compile(rb"^>(?=>*From )", re.MULTILINE)  # the ">" a reader removes
# ctime() form, as every MTA writes it: "Mon Nov  3 14:02:11 2025", maybe with a zone after.
_ASCTIME = re.compile(
    rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) +"
    rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d{1,2}) +"
    rb"(\d{1,2}):(\d\d)(?::(\d\d))?(?: +[A-Z]{3,5}| +[-+]\d{4})* +(\d{4})"
)
_MONTHS = [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun"]
_MONTHS += [b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"]
_STRICT_FROM_LINE = re.compile(rb"From \S+ +" + _ASCTIME.pattern + rb"\s*$")
# The headers Dovecot keeps its state in and hides from clients (``mbox_hide_headers`` in its
# mbox-storage.c); maa hides them too and drops them from messages it saves, as Dovecot does,
# so a message reads the same through either.
_HIDDEN_HEADER = re.compile(
    rb"^(?:Content-Length|Status|X-IMAP|X-IMAPbase|X-Keywords|X-Status|X-UID)[ \t]*:"
    rb"[^\n]*\n(?:[ \t][^\n]*\n)*",
    re.MULTILINE | re.IGNORECASE,
)
_CONTENT_LENGTH = re.compile(
    rb"^Content-Length:[ \t]*(\d{1,15})[ \t]*$", re.MULTILINE | re.IGNORECASE
)
_VOLATILE_HEADER = re.compile(
    rb"^(?:Status|X-Status|X-Keywords|X-UID|X-IMAPbase|X-IMAP|Content-Length|Lines):"
    rb"[^\n]*\n(?:[ \t][^\n]*\n)*",
    re.MULTILINE | re.IGNORECASE,
)
_DOVECOT_HEADER = re.compile(
    rb"^(X-IMAPbase|X-IMAP|X-UID|Status|X-Status|X-Keywords):[ \t]*([^\r\n]*)",
    re.MULTILINE | re.IGNORECASE,
)


def from_line(sender: str, when: float) -> bytes:
    """The separator line that starts a message, ``From MAILER-DAEMON Mon Nov  3 ...``."""
    safe = "".join(ch for ch in sender if ch.isprintable() and not ch.isspace()) or "MAILER-DAEMON"
    stamp = time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(when))
    return b"From " + safe.encode("utf-8", "replace") + b" " + stamp.encode("ascii") + b"\n"


def parse_from_date(line: bytes) -> float | None:
    """The date of a From_ line as POSIX seconds (read as UTC, as written), or None."""
    found = _ASCTIME.search(line)
    if found is None:
        return None
    month, day, hour, minute, second, year = found.groups()
    try:
        return float(
            calendar.timegm(
                (
                    int(year),
                    _MONTHS.index(month) + 1,
                    int(day),
                    int(hour),
                    int(minute),
                    int(second or 0),
                    0,
                    0,
                    0,
                )
            )
        )
    except (ValueError, OverflowError):
        return None


@dataclass
class EncodeResult:
    """What writing one message cost: the bytes written after the From_ line (the message
    and any LF added to end it) and the size of the CRLF form readers are shown."""

    written: int = 0
    size: int = 0
    # Whether ``>*From `` lines get one more ``>`` (mboxrd). Read as each piece is made, so a
    # writer may decide after the header, once it knows whether a Content-Length fits.
    quote: bool = True
    # Whether the message did not end with a line end, so that an LF was added to end it.
    added_lf: bool = False


def _line_runs(source: BinaryIO, *, hold_cr: bool) -> Iterator[tuple[bytes, bool]]:
    """``source`` in pieces of whole lines, as (piece, whether it starts at a line start).

    A line longer than ``LINE_CHUNK`` comes in several pieces; its first piece always holds
    enough of it to tell whether it is a ``>*From `` line. With ``hold_cr`` a piece never ends
    between the CR and the LF of a CRLF.
    """
    at_start = True
    pending = b""
    while True:
        block = source.read(READ_BLOCK)
        pending += block
        cut = pending.rfind(b"\n") + 1
        if cut:
            yield pending[:cut], at_start
            pending = pending[cut:]
            at_start = True
        if not block:
            if pending:
                yield pending, at_start
            return
        if len(pending) >= LINE_CHUNK:
            if at_start and len(pending.lstrip(b">")) < len(FROM_):
                continue  # a run of ">" so long that "From " may yet follow
            keep = b"\r" if hold_cr and pending.endswith(b"\r") else b""
            yield pending[: len(pending) - len(keep)], at_start
            pending = keep
            at_start = False


def _split_first_line(piece: bytes, at_start: bool) -> tuple[bytes, bytes]:
    """(the end of a line begun in an earlier piece, the rest that starts at a line start)."""
    if at_start:
        return b"", piece
    cut = piece.find(b"\n") + 1
    return (piece, b"") if cut == 0 else (piece[:cut], piece[cut:])


def encode_message(source: BinaryIO, result: EncodeResult) -> Iterator[bytes]:
    """The on-disk form of a message read from ``source`` (CRLF or LF line ends), in pieces.

    Lines matching ``>*From `` get one more ``>``; CRLF becomes LF; a message that does not end
    with a line end gets an LF (not counted in ``result.size``, so readers are shown exactly
    what was given). ``result`` is filled in as the pieces are consumed.
    """
    last = b"\n"
    for piece, at_start in _line_runs(source, hold_cr=True):
        head, rest = _split_first_line(piece, at_start)
        quoted = 0
        if result.quote and FROM_ in rest:
            rest, quoted = QUOTE_FROM.subn(b">", rest)
        data = (head + rest).replace(b"\r\n", b"\n")
        result.size += len(data) + data.count(b"\n") - quoted
        result.written += len(data)
        if data:
            last = data
            yield data
    if not last.endswith(b"\n"):
        result.written += 1
        result.added_lf = True
        yield b"\n"


def decode_message(raw: BinaryIO, length: int) -> Iterator[bytes]:
    """The CRLF form of a message whose on-disk form (``length`` bytes) ``raw`` yields, in
    pieces: hidden headers left out, ``>From`` unquoted unless it is stored verbatim."""
    head = raw.read(min(length, HEADER_SCAN_LIMIT))
    header_length = message_header_length(head, length)
    if header_length < 0:  # a header too long to look at: mboxrd, nothing hidden
        yield from _decode_body(cast(BinaryIO, _Prefixed(head, raw)), unquote=True)
        return
    header = head[:header_length]
    verbatim = stored_verbatim(header, length - header_length - 1)
    header = _HIDDEN_HEADER.sub(b"", header)
    if not verbatim and FROM_ in header:
        header = _UNQUOTE_FROM.sub(b"", header)
    yield header.replace(b"\n", b"\r\n")
    rest = cast(BinaryIO, _Prefixed(head[header_length:], raw))
    yield from _decode_body(rest, unquote=not verbatim)


def _decode_body(raw: BinaryIO, *, unquote: bool) -> Iterator[bytes]:
    if not unquote:
        while block := raw.read(READ_BLOCK):
            yield block.replace(b"\n", b"\r\n")
        return
    for piece, at_start in _line_runs(raw, hold_cr=False):
        head, rest = _split_first_line(piece, at_start)
        if FROM_ in rest:
            rest = _UNQUOTE_FROM.sub(b"", rest)
        yield (head + rest).replace(b"\n", b"\r\n")


class _Prefixed(io.RawIOBase):
    """``prefix``, then the rest of ``source``: bytes already read put back in front."""

    def __init__(self, prefix: bytes, source: BinaryIO) -> None:
        self._prefix = prefix
        self._source = source

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            data, self._prefix = self._prefix, b""
            return data
        return self._source.read(size)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def message_header_length(head: bytes, length: int) -> int:
    """How many bytes of a message are its header, through the LF before the empty line;
    ``head`` is its first bytes, ``length`` its whole length on disk. A message with no empty
    line that lies whole in ``head`` is all header; -1 if the header runs past ``head``."""
    blank = header_end(head)
    if blank >= 0:
        return blank
    return length if len(head) >= length else -1


def stored_verbatim(header: bytes, body_length: int) -> bool:
    """Whether a message is stored as Dovecot writes it, body unquoted: its header has one
    ``Content-Length:``, equal to the ``body_length`` bytes after the empty line."""
    found = _CONTENT_LENGTH.findall(header)
    return body_length >= 0 and len(found) == 1 and int(found[0]) == body_length


def hidden_headers(header: bytes) -> bytes:
    """The header fields of ``header`` that readers are not shown, as they appear in it."""
    return b"".join(match.group(0) for match in _HIDDEN_HEADER.finditer(header))


def without_hidden_headers(header: bytes) -> bytes:
    return _HIDDEN_HEADER.sub(b"", header)


class RangeReader(io.RawIOBase):
    """Bytes ``start``..``end`` of an open file descriptor, read with ``pread`` so that the
    descriptor's offset (shared by every reader of the folder) is never touched."""

    def __init__(self, fd: int, start: int, end: int) -> None:
        self._fd = fd
        self._pos = start
        self._end = end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._end - self._pos)
        if want <= 0:
            return 0
        data = os.pread(self._fd, want, self._pos)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def open_range(fd: int, start: int, end: int) -> BinaryIO:
    return io.BufferedReader(RangeReader(fd, start, end), buffer_size=LINE_CHUNK)


@dataclass(frozen=True, slots=True)
class ScannedMessage:
    """One message found in an mbox file: where it lies and what identifies it."""

    from_offset: int  # start of its From_ line
    body_offset: int  # first byte after the From_ line
    body_end: int  # end of the message (the separating empty line excluded)
    size: int  # bytes of the CRLF form
    fingerprint: bytes  # hash of the From_ line and the message as on disk
    loose: bytes  # the same, blind to status headers mail readers rewrite (loose_fingerprint)
    internal_date: float | None
    headers: dict[str, str]  # Dovecot's X-UID, Status, X-Status, X-Keywords, X-IMAPbase


def is_separator(mm: mmap.mmap, pos: int, *, first: bool) -> bool:
    """Whether a line starting at ``pos`` (known to begin with ``From ``) starts a message.

    mboxrd quotes every ``From `` inside a message, but files written by other programs may
    not; so a separator must follow an empty line (or start the file), or else look exactly
    like ``From sender Mon Nov  3 14:02:11 2025``.
    """
    if first or pos < 2 or mm[pos - 2 : pos] == b"\n\n":
        return True
    end = mm.find(b"\n", pos, pos + MAX_FROM_LINE)
    return end >= 0 and _STRICT_FROM_LINE.match(mm[pos:end]) is not None


def find_separators(mm: mmap.mmap, start: int, end: int) -> list[int]:
    """Offsets of every From_ line in ``start``..``end``; ``start`` itself counts if it begins
    with ``From `` (the caller knows it is a message boundary)."""
    found: list[int] = []
    if mm[start : start + 5] == FROM_:
        found.append(start)
    pos = start
    while True:
        pos = mm.find(b"\nFrom ", pos, end)
        if pos < 0:
            return found
        pos += 1
        if is_separator(mm, pos, first=False):
            found.append(pos)


def scan(mm: mmap.mmap, start: int, end: int) -> list[ScannedMessage]:
    """Every message between ``start`` and ``end`` (which must be a message boundary)."""
    separators = find_separators(mm, start, end)
    messages = []
    index = 0
    while index < len(separators):
        from_offset = separators[index]
        index += 1
        next_start = separators[index] if index < len(separators) else end
        line_end = mm.find(b"\n", from_offset, next_start)
        body_offset = next_start if line_end < 0 else line_end + 1
        head = mm[body_offset : min(end, body_offset + HEADER_SCAN_LIMIT)]
        blank = header_end(head)
        declared_end = _content_length_end(mm, body_offset, end, head, blank)
        if declared_end is not None and declared_end >= next_start:
            # Unquoted "From " lines inside a message whose length its header gives
            # (Dovecot and mutt write Content-Length): they are not separators.
            while index < len(separators) and separators[index] <= declared_end:
                index += 1
            next_start = separators[index] if index < len(separators) else end
        body_end = next_start
        if body_end - body_offset >= 2 and mm[body_end - 2 : body_end] == b"\n\n":
            body_end -= 1  # the empty line that separates messages
        elif body_end - body_offset == 1 and mm[body_offset:body_end] == b"\n":
            body_end -= 1
        head = head[: body_end - body_offset]
        messages.append(_measure(mm, from_offset, body_offset, body_end, head))
    return messages


def header_end(head: bytes) -> int:
    """Where the header ends in ``head`` (the index of the empty line's LF), or -1."""
    return 0 if head.startswith(b"\n") else head.find(b"\n\n") + 1 or -1


def _content_length_end(
    mm: mmap.mmap, body_offset: int, end: int, head: bytes, blank: int
) -> int | None:
    """Where a message ends by its ``Content-Length:`` header, if it has one that points
    exactly at the next From_ line (or the end of the file); None otherwise."""
    if blank <= 0:
        return None
    found = _CONTENT_LENGTH.search(head, 0, blank)
    if found is None:
        return None
    target = body_offset + blank + 1 + int(found.group(1))
    if target > end:
        return None
    after = mm[target : min(end, target + 6)]
    if target == end or after == b"\n" + FROM_ or (after == b"\n" and target + 1 == end):
        return target
    return None


def _measure(
    mm: mmap.mmap, from_offset: int, body_offset: int, body_end: int, head: bytes
) -> ScannedMessage:
    """Size, hashes, date and Dovecot headers of one message (``head``: its first bytes)."""
    from_line = mm[from_offset:body_offset]
    skip = body_offset - from_offset
    if body_end - from_offset <= SCAN_SLICE:
        whole = mm[from_offset:body_end]
        digest = hashlib.blake2b(whole, digest_size=16)
        newlines = whole.count(b"\n", skip)
        maybe_quoted = whole.find(b"From ", skip) >= 0
    else:
        digest = hashlib.blake2b(digest_size=16)
        newlines = 0
        for pos in range(from_offset, body_end, SCAN_SLICE):
            piece = mm[pos : min(pos + SCAN_SLICE, body_end)]
            digest.update(piece)
            newlines += piece.count(b"\n", max(0, body_offset - pos))
        maybe_quoted = True
    length = body_end - body_offset
    header_length = message_header_length(head, length)
    hidden = b""
    if header_length >= 0:
        header = head[:header_length]
        hidden = hidden_headers(header)
        if stored_verbatim(header, length - header_length - 1):
            maybe_quoted = False
    quoted = len(_QUOTED_FROM.findall(mm, body_offset, body_end)) if maybe_quoted else 0
    return ScannedMessage(
        from_offset=from_offset,
        body_offset=body_offset,
        body_end=body_end,
        size=length - quoted + newlines - len(hidden) - hidden.count(b"\n"),
        fingerprint=digest.digest(),
        loose=loose_fingerprint(from_line, head, body_end - body_offset),
        internal_date=parse_from_date(from_line),
        headers=_dovecot_headers(head),
    )


def loose_fingerprint(from_line: bytes, head: bytes, length: int) -> bytes:
    """A message's identity that survives a mail reader rewriting its status headers (mutt
    writes ``Status:``/``X-Status:``, Dovecot ``X-Keywords:``/``X-UID:``): its From_ line, its
    other header lines and the length of what follows them. ``head`` is the start of the
    message as on disk, ``length`` its whole length."""
    blank = 0 if head.startswith(b"\n") else head.find(b"\n\n") + 1
    digest = hashlib.blake2b(from_line, digest_size=16)
    if blank <= 0 and not head.startswith(b"\n"):
        digest.update(b"\0whole\0" + head + b"\0%d" % length)  # headers longer than ``head``
        return digest.digest()
    digest.update(_VOLATILE_HEADER.sub(b"", head[:blank]))
    digest.update(b"\0%d" % (length - blank))
    return digest.digest()


def _dovecot_headers(head: bytes) -> dict[str, str]:
    if head.startswith(b"\n"):
        return {}
    blank = head.find(b"\n\n")
    if blank >= 0:
        head = head[: blank + 1]
    found: dict[str, str] = {}
    for match in _DOVECOT_HEADER.finditer(head):
        key = match.group(1).decode("ascii").lower()
        found.setdefault(key, match.group(2).decode("utf-8", "replace").strip())
    return found
