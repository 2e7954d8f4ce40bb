"""A message as RETR and TOP send it: byte-transparent, dot-stuffed, cut after the headers
and N body lines for TOP, and ended with ``.`` CRLF (RFC 1939 section 3).

It is fed the CRLF form of the message in chunks of any size, so a large message is never
whole in memory; the only state carried between chunks is whether the next byte starts a
line (and, for TOP, where in the message we are).
"""

from __future__ import annotations

import re

TERMINATOR = b".\r\n"


class MessageEncoder:
    """Feed chunks with ``feed``; when it reports ``done`` (TOP has all it wants) or the
    message ends, ``finish`` returns the closing bytes."""

    def __init__(self, body_lines: int | None = None) -> None:
        self._at_line_start = True
        self._body_lines = body_lines  # None for RETR: everything
        self._in_headers = body_lines is not None
        # The current header line so far while it may still be the blank line (b"" or b"\r",
        # as a chunk can end between its CR and LF); None once it has content.
        self._header_start: bytes | None = b""
        self.done = False
        self.octets = 0  # bytes returned by feed, dot-stuffing included

    def feed(self, chunk: bytes) -> bytes:
        return b"".join(self.feed_parts(chunk))

    def feed_parts(self, chunk: bytes) -> list[bytes]:
        """What ``feed`` returns, as the pieces it is joined from: slices of ``chunk`` with
        the added dots between them. A writer that takes a sequence joins them once anyway
        (Twisted's transport does), so joining them here too would copy every message
        once more."""
        if self.done or not chunk:
            return []
        if self._body_lines is not None:
            chunk = self._cut(chunk)
            if not chunk:
                return []
        parts = _stuffed(chunk)
        if self._at_line_start and chunk[0] == 0x2E:  # "." at the start of a line
            parts.insert(0, b".")
        self._at_line_start = chunk[-1] == 0x0A
        self.octets += sum(map(len, parts))
        return parts

    def finish(self) -> bytes:
        """The bytes that close the multi-line reply: a CRLF if the message did not end with
        one, then the terminating dot line."""
        self.done = True
        return TERMINATOR if self._at_line_start else b"\r\n" + TERMINATOR

    def _cut(self, chunk: bytes) -> bytes:
        """The part of ``chunk`` TOP sends: headers, the blank line, then N body lines."""
        end = 0
        while self._in_headers:
            newline = chunk.find(b"\n", end)
            if newline < 0:
                if self._header_start is not None:
                    start = self._header_start + chunk[end:]
                    self._header_start = start if start in (b"", b"\r") else None
                return chunk
            line = chunk[end:newline]
            if self._header_start is not None and self._header_start + line in (b"", b"\r"):
                self._in_headers = False  # the blank line ends the headers; it is sent
            self._header_start = b""
            end = newline + 1
        remaining = self._body_lines
        assert remaining is not None
        while remaining > 0:
            newline = chunk.find(b"\n", end)
            if newline < 0:
                self._body_lines = remaining
                return chunk
            remaining -= 1
            end = newline + 1
        self._body_lines = 0
        self.done = True
        return chunk[:end]


# Dots ``_stuff`` looks at one by one before it hands the rest of a chunk to a regular
# expression. A dot found by memchr costs about 150 ns of Python to check, the expression
# about 0.35 ns per byte however many dots there are: so a chunk of base64 (no dot at all)
# or with a few dot-led lines goes by dots, and prose with a dot in every line or two wastes
# at most this many checks (16 plus one per 2 KiB) before it goes by the expression.
DOT_WALK = 16
DOT_WALK_SHIFT = 11

_LINE_DOT = re.compile(rb"\n\.")


def _stuff(chunk: bytes) -> bytes:
    """``chunk`` with a dot added after every LF followed by a dot (not copied when there is
    none)."""
    return b"".join(_stuffed(chunk))


def _stuffed(chunk: bytes) -> list[bytes]:
    """``_stuff(chunk)`` in pieces: slices of ``chunk``, each stuffed dot ending one piece
    and starting the next. A search for LF-dot (``find`` or ``bytes.replace``) scans at
    about 0.9 ns a byte, as both bytes of that needle are common in text; a one-byte find is
    memchr, and the regular expression scans at a third of that cost when dots are many."""
    find = chunk.find
    at = find(b".")
    if at < 0:
        return [chunk]
    parts = []
    start = 0
    budget = DOT_WALK + (len(chunk) >> DOT_WALK_SHIFT)
    while at >= 0:
        if at and chunk[at - 1] == 0x0A:
            parts.append(chunk[start : at + 1])
            start = at  # the dot is sent twice: once ending this part, once starting the next
        budget -= 1
        if not budget:
            # Every dot before ``at`` is dealt with, and a stuffed one starts the rest
            # without its LF, so the expression doubles exactly the ones still to do.
            parts.append(_LINE_DOT.sub(b"\n..", chunk[start:]))
            return parts
        at = find(b".", at + 1)
    parts.append(chunk[start:])
    return parts
