"""The MIME part tree of a raw message, with byte offsets into the raw bytes.

IMAP sections must be byte-exact, and ``email`` re-serialises what it parses, so the tree is
built by a scanner over the raw bytes instead: for each part, where its header block starts,
where its body starts and where the body ends. Boundary lines are found the way Dovecot's
message parser finds them (a line starting with ``--`` and a boundary of any enclosing
multipart, the longest match winning, so a missing close delimiter ends at the enclosing
one); the CRLF before a boundary line belongs to the boundary (RFC 2046 section 5.1.1), and
a header that runs into a boundary line ends there with no body. A message (the top one or
one inside message/rfc822) without MIME-Version or Content-Type is not MIME: its other
Content-* fields are ignored, as Dovecot does.

The scanner never raises: a broken boundary, a header with no blank line or a truncated
message all give a tree; too deep or too many parts are left unparsed as single parts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from maa.mail.content import ContentFields, parse_content_fields
from maa.mail.headers import iter_fields

# Multiparts nested deeper than this are kept as opaque single parts. Same figure as
# Dovecot's default (message_parser max_nested_mime_parts): a crafted message cannot make
# every FETCH walk a hundred thousand levels, and real mail never nests this deep.
MAX_NESTING = 100
# Parts beyond this many in one message are not split further (Dovecot's
# max_total_mime_parts): bounds the tree a single message can make us build.
MAX_PARTS = 10000

# Boundaries are cut to this length, as Dovecot does (RFC 2046 allows 70 characters; matching
# is by prefix, so a longer one still works, and no line compare costs more than this).
MAX_BOUNDARY = 80

TEXT_PLAIN = (b"text", b"plain")
MESSAGE_RFC822 = (b"message", b"rfc822")


@dataclass(slots=True, eq=False)
class MimePart:
    """One part: ``raw[header_start:body_start]`` is its header block (with the blank line),
    ``raw[body_start:body_end]`` its body as sent (still transfer-encoded)."""

    header_start: int
    body_start: int
    body_end: int
    content: ContentFields
    type: bytes  # as the header spells it, or the context's default
    subtype: bytes
    multipart: bool = False  # a multipart: ``children`` are its parts (none without boundary)
    lines: int = 0  # LF count of the body; counted for text/* and message/rfc822 parts only
    children: list[MimePart] = field(default_factory=list)
    message: MimePart | None = None  # a message/rfc822 part's embedded message

    @property
    def media_type(self) -> tuple[str, str]:
        """(type, subtype) lower-cased, for decisions (output keeps the header's case)."""
        return (
            self.type.decode("latin-1").lower(),
            self.subtype.decode("latin-1").lower(),
        )

    @property
    def is_text(self) -> bool:
        return self.type.lower() == b"text"

    @property
    def size(self) -> int:
        return self.body_end - self.body_start

    def walk(self) -> Iterator[MimePart]:
        """This part and every part below it, embedded messages included, depth first."""
        yield self
        if self.message is not None:
            yield from self.message.walk()
        for child in self.children:
            yield from child.walk()


class _Hit(NamedTuple):
    origin: int  # where the search started: a boundary right there has no line end before it
    line_start: int
    which: int  # which boundary of the stack matched
    close: bool  # "--boundary--"
    after: int  # first byte after the boundary line


# A header ends at a blank line, or (inside a multipart) at a boundary line.
_HEADER_STOP = re.compile(rb"\n(?=\r?\n|--)")


def _is_mime(raw_headers: bytes) -> bool:
    """Whether Content-* fields count: a MIME-Version or Content-Type field is present."""
    return any(name in _MIME_MARKERS for name, _ in iter_fields(raw_headers))


_MIME_MARKERS = frozenset({b"mime-version", b"content-type"})


class _Scanner:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.count = 0

    def _boundary_at(self, origin: int, line_start: int, stack: tuple[bytes, ...]) -> _Hit | None:
        """The boundary a line starts with, as Dovecot decides: the line without its line
        end and without a trailing ``--`` must start with the boundary; the longest match
        wins, the innermost on a tie; failing that, a boundary that itself ends in ``--``
        may use the trailing dashes."""
        raw = self.raw
        if not raw.startswith(b"--", line_start):
            return None
        newline = raw.find(b"\n", line_start)
        after = len(raw) if newline < 0 else newline + 1
        end = after if newline < 0 else newline
        if end > line_start and raw[end - 1] == 0x0D:
            end -= 1
        full = end - line_start - 2
        trimmed = full - 2 if full > 2 and raw.startswith(b"--", end - 2) else full
        for available in (trimmed, full) if trimmed != full else (full,):
            best = -1
            for index in range(len(stack) - 1, -1, -1):
                boundary = stack[index]
                if (
                    len(boundary) <= available
                    and raw.startswith(boundary, line_start + 2)
                    and (best < 0 or len(boundary) > len(stack[best]))
                ):
                    best = index
            if best >= 0:
                close = raw.startswith(b"--", line_start + 2 + len(stack[best]))
                return _Hit(origin, line_start, best, close, after)
        return None

    def _next_boundary(
        self, pos: int, stack: tuple[bytes, ...], limit: int | None = None
    ) -> _Hit | None:
        """The first boundary line at or after ``pos`` (a line start), starting before
        ``limit``."""
        if not stack:
            return None
        raw = self.raw
        end = len(raw) if limit is None else limit
        origin = pos
        if pos < end:
            hit = self._boundary_at(origin, pos, stack)
            if hit is not None:
                return hit
        while True:
            newline = raw.find(b"\n--", pos, end + 2)
            if newline < 0 or newline + 1 >= end:
                return None
            hit = self._boundary_at(origin, newline + 1, stack)
            if hit is not None:
                return hit
            pos = newline + 1

    def _end_before(self, hit: _Hit | None) -> int:
        """Where a body ends: before the CRLF that precedes the boundary line, unless the
        boundary line is the first line searched (that line end belongs to what came before:
        the blank line after a header, or the previous boundary line)."""
        if hit is None:
            return len(self.raw)
        end = hit.line_start
        if end > hit.origin and self.raw[end - 1] == 0x0A:
            end -= 1
            if end > hit.origin and self.raw[end - 1] == 0x0D:
                end -= 1
        return end

    def _header_end(self, start: int, stack: tuple[bytes, ...]) -> tuple[int, _Hit | None]:
        """Where the body of the entity at ``start`` begins, and the boundary line that cut
        the header short, if one did (then there is no body, and the line end before the
        boundary belongs to the boundary). Scans no further than the header itself."""
        raw = self.raw
        if raw.startswith(b"\r\n", start):
            return start + 2, None
        if raw.startswith(b"\n", start):
            return start + 1, None
        if stack:
            hit = self._boundary_at(start, start, stack)
            if hit is not None:
                return start, hit
        for match in _HEADER_STOP.finditer(raw, start):
            newline = match.start()
            if raw[newline + 1] == 0x2D:  # "-": perhaps a boundary line
                if stack:
                    hit = self._boundary_at(start, newline + 1, stack)
                    if hit is not None:
                        # The line end before the boundary leaves the header; Dovecot then
                        # counts it in the enclosing parts' bodies, as if the search for
                        # their end had started right at the boundary line.
                        return self._end_before(hit), hit._replace(origin=hit.line_start)
                continue
            return (newline + 2 if raw[newline + 1] == 0x0A else newline + 3), None
        return len(raw), None

    def _blank_line_taken(
        self, start: int, body_start: int, stack: tuple[bytes, ...], own: bytes | None
    ) -> tuple[int, _Hit] | None:
        """A boundary of an enclosing multipart right after the header's blank line takes
        that line's CRLF as its own: the header ends before it and the body is empty (as in
        Dovecot). The part's own boundary, if it is a multipart, is tried too and wins when
        longer, so that its first delimiter is left alone."""
        raw = self.raw
        inner = stack if own is None else (*stack, own)
        hit = self._boundary_at(body_start, body_start, inner)
        if hit is None or hit.which == len(stack):
            return None
        blank = body_start - 2 if raw.startswith(b"\r\n", body_start - 2) else body_start - 1
        return max(blank, start), hit

    def entity(
        self,
        start: int,
        stack: tuple[bytes, ...],
        default: tuple[bytes, bytes],
        depth: int,
        mime: bool,
    ) -> tuple[MimePart, _Hit | None]:
        """Parse the entity (header + body) at ``start``; return it and the boundary ending it.

        ``mime`` is True for the parts of a multipart; a message (the top one or one inside
        message/rfc822) is MIME only if it has a MIME-Version or Content-Type field, and
        otherwise its Content-* fields are ignored, as Dovecot does.
        """
        raw = self.raw
        self.count += 1
        body_start, hit = self._header_end(start, stack)
        header = raw[start:body_start]
        content = parse_content_fields(header) if mime or _is_mime(header) else ContentFields()
        if content.type is not None:
            ctype, subtype = content.type, content.subtype or b""
        else:
            ctype, subtype = default
        lowered = (ctype.lower(), subtype.lower())
        has_slash = content.type is None or content.subtype is not None
        room = depth < MAX_NESTING and self.count < MAX_PARTS
        multipart = lowered[0] == b"multipart" and has_slash and room
        boundary = (content.param(b"boundary") or b"")[:MAX_BOUNDARY] if multipart else b""
        if hit is None and stack and body_start < len(raw):
            taken = self._blank_line_taken(start, body_start, stack, boundary or None)
            if taken is not None:
                body_start, hit = taken
        part = MimePart(start, body_start, body_start, content, ctype, subtype, multipart)
        if hit is not None:
            return part, hit
        if multipart:
            if boundary:
                hit = self._multipart(part, (*stack, boundary), lowered[1] == b"digest", depth)
            else:  # a multipart without a boundary has no parts
                hit = self._next_boundary(body_start, stack)
        elif lowered == MESSAGE_RFC822 and room:
            part.message, hit = self.entity(body_start, stack, TEXT_PLAIN, depth + 1, False)
        else:
            hit = self._next_boundary(body_start, stack)
        part.body_end = self._end_before(hit)
        if lowered[0] == b"text" or part.message is not None:  # only these report lines
            part.lines = raw.count(b"\n", body_start, part.body_end)
        return part, hit

    def _multipart(
        self, part: MimePart, inner: tuple[bytes, ...], digest: bool, depth: int
    ) -> _Hit | None:
        own = len(inner) - 1
        default = MESSAGE_RFC822 if digest else TEXT_PLAIN
        hit = self._next_boundary(part.body_start, inner)
        while hit is not None and hit.which == own and not hit.close:
            if self.count >= MAX_PARTS:
                # Too many parts: the rest of this multipart is not split any further.
                hit = self._next_boundary(hit.after, inner[:own])
                break
            child, hit = self.entity(hit.after, inner, default, depth + 1, True)
            part.children.append(child)
        if hit is not None and hit.which == own:  # the close delimiter: skip the epilogue
            hit = self._next_boundary(hit.after, inner[:own])
        return hit


@dataclass(frozen=True, slots=True)
class MessageParts:
    """A message's part tree. ``root`` is the message itself (header + body); ``raw`` is the
    message the offsets point into."""

    root: MimePart
    raw: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.raw)

    @classmethod
    def parse(cls, raw: bytes) -> MessageParts:
        """Scan ``raw`` (the CRLF form of a message); never raises on any input."""
        root, _ = _Scanner(raw).entity(0, (), TEXT_PLAIN, 0, False)
        return cls(root, raw)

    def find(self, path: tuple[int, ...]) -> MimePart | None:
        """The part an IMAP section number names, or None if there is no such part.

        ``()`` is the message. In a multipart, ``n`` is its n-th part; ``1`` of a single part
        is that part (its body); after a message/rfc822 part, numbers continue in the
        embedded message (RFC 3501 section 6.4.5).
        """
        part = self.root
        last = len(path) - 1
        for depth, number in enumerate(path):
            more = depth < last
            if part.multipart:
                if not 1 <= number <= len(part.children):
                    return None
                part = part.children[number - 1]
            elif number != 1 or (more and part.message is None):
                return None
            if more and part.message is not None:
                part = part.message
        return part

    def walk(self) -> Iterator[MimePart]:
        """Every part, depth first, embedded messages included."""
        return self.root.walk()
