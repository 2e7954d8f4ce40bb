"""Header blocks of RFC 5322 messages, byte-exact.

These functions look only at the header block (everything up to and including the blank line),
so a header fetch or a delivery log line never reads or parses the body. A field is its first
line plus every continuation line (starting with space or tab), line ends included.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

CRLF = b"\r\n"

# Reading a header block from a stream stops after this many bytes: a message whose header
# never ends (no blank line) would otherwise be read whole just to answer a header fetch.
# Dovecot's own header parser accepts headers of any size, so the bound is generous.
MAX_STREAM_HEADER_BYTES = 4 * 1024 * 1024

# One field: a line, then any continuation lines. The last line may lack its line end.
_FIELD = re.compile(rb"[^\n]*(?:\n|\Z)(?:[ \t][^\n]*(?:\n|\Z))*")
_LINE_BREAK = re.compile(rb"\r?\n")
_UNICODE_REPLACEMENT = "\ufffd".encode()
# A field on one line (nearly every one) whose value starts with no blank and holds no CR,
# LF or NUL: its value, as ``field_value`` works it out in general, by one match.
_ONE_LINE_VALUE = re.compile(rb"[^:\n]*:[ \t]*([^ \t\r\n\x00][^\r\n\x00]*)\r?\n?\Z")


def body_offset(raw: bytes, start: int = 0, end: int | None = None) -> int:
    """Where the body starts: just past the blank line ending the header at ``start``.

    A header with no blank line runs to ``end`` (the message is all header).
    """
    if end is None:
        end = len(raw)
    if raw.startswith(b"\r\n", start, end):
        return start + 2
    if raw.startswith(b"\n", start, end):
        return start + 1
    crlf = raw.find(b"\n\r\n", start, end)
    lf = raw.find(b"\n\n", start, end if crlf < 0 else crlf + 2)
    if lf >= 0:
        return lf + 2
    if crlf >= 0:
        return crlf + 3
    return end


def header_block(source: bytes | BinaryIO) -> bytes:
    """The header block of a message, including the blank line that ends it.

    ``source`` is the raw message or a binary stream positioned at its start; a stream is
    read line by line only up to the blank line (or :data:`MAX_STREAM_HEADER_BYTES`).
    """
    if isinstance(source, bytes | bytearray | memoryview):
        raw = bytes(source)
        return raw[: body_offset(raw)]
    lines: list[bytes] = []
    total = 0
    while total < MAX_STREAM_HEADER_BYTES:
        line = source.readline(MAX_STREAM_HEADER_BYTES - total)
        if not line:
            break
        lines.append(line)
        total += len(line)
        if line in (b"\r\n", b"\n"):
            break
    return b"".join(lines)


def iter_fields(raw_headers: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Each field of a header block as (lower-case name, raw field bytes incl. line ends).

    Stops at the blank line. A line without a colon is a field whose name is the whole line,
    as in Dovecot, so that it is kept by HEADER and dropped by HEADER.FIELDS.
    """
    for match in _FIELD.finditer(raw_headers):
        field = match.group()
        if not field:
            break
        if field in (b"\r\n", b"\n"):
            break
        colon = field.find(b":")
        name = field[:colon] if colon >= 0 else field.rstrip(b"\r\n")
        yield name.strip(b" \t").lower(), field


def field_value(field: bytes, *, unfold: bool = True) -> bytes:
    """The value of one raw field, blanks after the colon removed, NUL bytes as U+FFFD.

    Unfolded by default (line breaks removed, continuation whitespace kept: ``a\\r\\n b``
    gives ``a b``, an empty first line followed by `` <id>`` gives `` <id>``), which is what
    Dovecot's header parser yields. ``unfold=False`` keeps the line breaks (as ``\\n``):
    Dovecot writes a folded Subject differently from one that was always on one line.
    """
    match = _ONE_LINE_VALUE.match(field)
    if match is not None:
        return match.group(1)
    return _general_field_value(field, unfold=unfold)


def _general_field_value(field: bytes, *, unfold: bool) -> bytes:
    colon = field.find(b":")
    value = field[colon + 1 :] if colon >= 0 else b""
    stripped = value.lstrip(b" \t")
    if stripped[:1] in (b"\r", b"\n", b"") and value[:1] in (b" ", b"\t"):
        stripped = value[1:]  # a first line of blanks only loses just one (Dovecot)
    value = _LINE_BREAK.sub(b"" if unfold else b"\n", stripped)
    if value.endswith(b"\n"):
        value = value[:-1]
    if value.endswith(b"\r"):
        value = value[:-1]
    if b"\x00" in value:
        value = value.replace(b"\x00", _UNICODE_REPLACEMENT)
    return value


def raw_values(raw_headers: bytes, name: str) -> list[bytes]:
    """Unfolded values of every field called ``name`` (any case), in header order."""
    wanted = name.lower().encode("ascii", "replace")
    return [field_value(field) for fname, field in iter_fields(raw_headers) if fname == wanted]


def first_raw_value(raw_headers: bytes, name: str) -> bytes | None:
    """The unfolded value of the first field called ``name``, or None."""
    wanted = name.lower().encode("ascii", "replace")
    for fname, field in iter_fields(raw_headers):
        if fname == wanted:
            return field_value(field)
    return None


def text(value: bytes) -> str:
    """Header bytes as text: UTF-8 where valid, otherwise each byte as Latin-1."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def first_header(raw_headers: bytes, name: str) -> str | None:
    """The first ``name`` field's value, unfolded but not RFC 2047-decoded (for logs, LDA)."""
    value = first_raw_value(raw_headers, name)
    return None if value is None else text(value)


def header_fields(raw_headers: bytes, names: Iterable[str], *, exclude: bool = False) -> bytes:
    """``BODY[HEADER.FIELDS (names)]`` (or ``.NOT`` with ``exclude``) of a header block.

    The matching fields byte for byte, continuation lines included, in header order, then the
    blank line (CRLF). Names match case-insensitively. Where the header never ended, Dovecot's
    answers are followed: ``.NOT`` adds no CRLF when there was no blank line, and a last
    line cut short is kept as it is (with HEADER.FIELDS, the final CRLF then ends it).
    """
    wanted = {name.lower().encode("ascii", "replace") for name in names}
    out = [field for fname, field in iter_fields(raw_headers) if (fname in wanted) != exclude]
    if exclude:
        block = raw_headers[: body_offset(raw_headers)]
        if block in (b"\r\n", b"\n") or block.endswith((b"\n\r\n", b"\n\n")):
            out.append(CRLF)
    else:
        out.append(CRLF)
    return b"".join(out)
