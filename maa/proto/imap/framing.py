"""Split the client's byte stream into commands: text lines and the literals between them.

A command is a run of text segments separated by literals (``{n}``, or ``{n+}`` for
LITERAL+, RFC 7888). The framer hands back each finished command as a ``RawCommand`` of
segments, so the grammar parser runs once per command, never again after each literal.
A synchronising literal yields ``NeedContinuation`` so the glue can send ``+ Ready``.
APPEND literals spool to a ``SpooledTemporaryFile``; others are small and kept as bytes.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from typing import IO

from maa.proto.imap import limits

_LITERAL_AT_END = re.compile(rb"~?\{(\d{1,20})(\+?)\}$")
_TAG_AND_NAME = re.compile(rb"^([^\s(){%*\"\\\]]+) +(UID +)?([A-Za-z]+)", re.ASCII)


@dataclass(frozen=True)
class Literal:
    """A literal's content: bytes when small, a file positioned at 0 for APPEND."""

    data: bytes | IO[bytes]
    size: int

    def read_all(self) -> bytes:
        if isinstance(self.data, bytes):
            return self.data
        self.data.seek(0)
        return self.data.read()


Segment = bytes | Literal


@dataclass(frozen=True)
class RawCommand:
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class NeedContinuation:
    """A synchronising literal was announced; the client waits for ``+``."""


@dataclass(frozen=True)
class Rejected:
    """The command could not be framed; reply ``BAD`` (and close when ``fatal``)."""

    tag: str
    text: str
    fatal: bool = False


@dataclass(frozen=True)
class Line:
    """A bare line, in line mode (AUTHENTICATE responses, IDLE's DONE)."""

    data: bytes


Event = RawCommand | NeedContinuation | Rejected | Line


def _tag_of(text: bytes) -> tuple[str, bytes]:
    m = _TAG_AND_NAME.match(text)
    if not m:
        return "*", b""
    return m.group(1).decode("ascii", "replace"), m.group(3).upper()


class Framer:
    """Feed bytes with ``feed``; take events with ``next_event`` until it returns None."""

    def __init__(self, *, max_append: int = limits.DEFAULT_MAX_APPEND) -> None:
        self.max_append = max_append
        self._buf = bytearray()
        self._segments: list[Segment] = []
        self._size = 0
        self._tag = "*"
        self._command = b""
        self._literal_left = 0
        self._literal_sink: IO[bytes] | bytearray | None = None
        self._literal_size = 0
        self._skipping_line = False
        self.line_mode = False
        # Until the glue says the client logged in, every literal is small (APPEND too).
        self.authenticated = False

    def feed(self, data: bytes) -> None:
        self._buf += data

    def discard_buffered(self) -> None:
        """Forget every byte received but not yet framed (STARTTLS: nothing the client
        pipelined in plaintext may be read as if it came over TLS)."""
        self._buf.clear()
        self._reset()

    def take_buffered(self) -> bytes:
        """Hand back every byte received but not yet framed (COMPRESS: what follows the
        command is deflated, so it must go through the inflater first)."""
        data = bytes(self._buf)
        self._buf.clear()
        return data

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def _reset(self) -> None:
        self._segments = []
        self._size = 0
        self._tag = "*"
        self._command = b""
        self._literal_left = 0
        self._literal_sink = None
        self._skipping_line = False

    def next_event(self) -> Event | None:
        while True:
            if self._literal_sink is not None:
                if not self._read_literal():
                    return None
                continue
            end = self._buf.find(b"\n")
            if end < 0:
                if len(self._buf) > limits.MAX_LINE and not self._skipping_line:
                    tag = self._tag if self._segments else _tag_of(bytes(self._buf[:200]))[0]
                    self._reset()
                    self._skipping_line = True
                    self._buf.clear()
                    return Rejected(tag, "Command line too long")
                if self._skipping_line:
                    self._buf.clear()
                return None
            line = bytes(self._buf[:end])
            del self._buf[: end + 1]
            if line.endswith(b"\r"):
                line = line[:-1]
            if self._skipping_line:
                self._skipping_line = False
                continue
            if len(line) > limits.MAX_LINE:
                tag = self._tag if self._segments else _tag_of(line[:200])[0]
                self._reset()
                return Rejected(tag, "Command line too long")
            if self.line_mode and not self._segments:
                return Line(line)
            event = self._take_line(line)
            if event is not None:
                return event

    def _take_line(self, line: bytes) -> Event | None:
        if not self._segments:
            self._tag, self._command = _tag_of(line)
        m = _LITERAL_AT_END.search(line)
        if m is None:
            self._segments.append(line)
            raw = RawCommand(tuple(self._segments))
            self._reset()
            return raw
        size = int(m.group(1))
        sync = not m.group(2)
        if not self.authenticated:
            limit = limits.MAX_UNAUTHENTICATED_LITERAL
        elif self._command == b"APPEND":
            limit = self.max_append
        else:
            limit = limits.MAX_SMALL_LITERAL
        self._size += len(line) + (size if self._command != b"APPEND" else 0)
        if size > limit or (self._command != b"APPEND" and self._size > limits.MAX_COMMAND):
            tag = self._tag
            self._reset()
            if sync:
                return Rejected(tag, "Literal too large")
            # The bytes are already on their way and we cannot tell them from commands.
            return Rejected(tag, "Literal too large", fatal=True)
        self._segments.append(line[: m.start()])
        self._literal_left = size
        self._literal_size = size
        if self._command == b"APPEND":
            # Closed by whoever consumes the APPEND (or by garbage collection).
            self._literal_sink = tempfile.SpooledTemporaryFile(  # noqa: SIM115
                max_size=limits.SPOOL_THRESHOLD, prefix="maa-append-"
            )
        else:
            self._literal_sink = bytearray()
        return NeedContinuation() if sync else None

    def _read_literal(self) -> bool:
        """Move buffered bytes into the literal; True once it is complete."""
        sink = self._literal_sink
        assert sink is not None
        take = min(self._literal_left, len(self._buf))
        if take:
            chunk = bytes(self._buf[:take])
            del self._buf[:take]
            if isinstance(sink, bytearray):
                sink += chunk
            else:
                sink.write(chunk)
            self._literal_left -= take
        if self._literal_left:
            return False
        if isinstance(sink, bytearray):
            self._segments.append(Literal(bytes(sink), self._literal_size))
        else:
            sink.seek(0)
            self._segments.append(Literal(sink, self._literal_size))
        self._literal_sink = None
        return True
