"""A small reader for IMAP wire values (lists, NIL, numbers, quoted strings, literals), so
tests can check that ENVELOPE/BODYSTRUCTURE output is well-formed and read values back."""

from __future__ import annotations

import re

Value = bytes | None | list["Value"]

_LITERAL = re.compile(rb"\{(\d+)\}\r\n")
_ATOM = re.compile(rb"[^ ()\"{}\r\n]+")


class WireSyntaxError(ValueError):
    pass


def _read(data: bytes, pos: int) -> tuple[Value, int]:
    if pos >= len(data):
        raise WireSyntaxError("unexpected end")
    byte = data[pos : pos + 1]
    if byte == b"(":
        items: list[Value] = []
        pos += 1
        while True:
            if data[pos : pos + 1] == b")":
                return items, pos + 1
            if items:
                if data[pos : pos + 1] != b" " and data[pos - 1 : pos] != b")":
                    raise WireSyntaxError(f"expected space at {pos}")
                if data[pos : pos + 1] == b" ":
                    pos += 1
            item, pos = _read(data, pos)
            items.append(item)
    if byte == b'"':
        out = bytearray()
        pos += 1
        while pos < len(data):
            char = data[pos]
            if char == 0x5C:
                if data[pos + 1] not in b'"\\':
                    raise WireSyntaxError("bad escape")
                out.append(data[pos + 1])
                pos += 2
            elif char == 0x22:
                return bytes(out), pos + 1
            elif char in (13, 10) or char >= 0x80 or char == 0:
                raise WireSyntaxError(f"byte {char:#x} in a quoted string")
            else:
                out.append(char)
                pos += 1
        raise WireSyntaxError("unterminated quoted string")
    if byte == b"{":
        match = _LITERAL.match(data, pos)
        if match is None:
            raise WireSyntaxError("bad literal")
        start = match.end()
        end = start + int(match.group(1))
        if end > len(data):
            raise WireSyntaxError("literal runs past the end")
        return data[start:end], end
    match = _ATOM.match(data, pos)
    if match is None:
        raise WireSyntaxError(f"unexpected {byte!r} at {pos}")
    atom = match.group()
    return (None if atom == b"NIL" else atom), match.end()


def parse(data: bytes) -> Value:
    """Read exactly one value; anything left over is an error."""
    value, pos = _read(data, 0)
    if pos != len(data):
        raise WireSyntaxError(f"trailing bytes at {pos}: {data[pos : pos + 20]!r}")
    return value
