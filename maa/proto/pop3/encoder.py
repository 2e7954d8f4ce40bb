"""A message as RETR and TOP send it: byte-transparent, dot-stuffed, cut after the headers
and N body lines for TOP, and ended with ``.`` CRLF (RFC 1939 section 3).

It is fed the CRLF form of the message in chunks of any size, so a large message is never
whole in memory; the only state carried between chunks is whether the next byte starts a
line (and, for TOP, where in the message we are).
"""

from __future__ import annotations

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
        if self.done or not chunk:
            return b""
        if self._body_lines is not None:
            chunk = self._cut(chunk)
            if not chunk:
                return b""
        out = _stuff(chunk)
        if self._at_line_start and chunk[0] == 0x2E:  # "." at the start of a line
            out = b"." + out
        self._at_line_start = chunk[-1] == 0x0A
        self.octets += len(out)
        return out

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


def _stuff(chunk: bytes) -> bytes:
    """``chunk`` with a dot added after every LF followed by a dot. A find loop rather than
    ``bytes.replace``, which scans the chunk twice (to count, then to copy): dot-led lines
    are rare, so this is one scan plus a join of a few slices, and no copy at all when
    there is none."""
    find = chunk.find
    at = find(b"\n.")
    if at < 0:
        return chunk
    parts = []
    start = 0
    while at >= 0:
        parts.append(chunk[start : at + 2])
        start = at + 1  # the dot is sent twice: once ending this part, once starting the next
        at = find(b"\n.", at + 2)
    parts.append(chunk[start:])
    return b"".join(parts)
