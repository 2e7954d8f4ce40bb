"""A small RFC 5322 / RFC 2045 tokenizer for structured header values.

Written by hand rather than taken from ``email._header_value_parser`` because that module is
private, re-serialises what it parses, and drops the details IMAP must echo byte for byte
(Dovecot's address and parameter output). Works on bytes; never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

TokenKind = Literal["atom", "quoted", "literal", "special"]

# RFC 5322 specials, minus "." which is kept inside atoms as Dovecot's atom-or-dot does.
ADDRESS_SPECIALS = frozenset(b'()<>@,;:\\"[]')
# RFC 2045 tspecials.
MIME_SPECIALS = frozenset(b'()<>@,;:\\"/[]?=')
_WHITESPACE = frozenset(b" \t\r\n")


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    value: bytes  # quoted strings unquoted and unescaped; literals keep their brackets
    comment: bytes | None = None  # the last comment seen just before this token, if any
    broken: bool = False  # a quoted string or domain literal that never ended


def _skip_comment(data: bytes, pos: int) -> tuple[bytes, int]:
    """Skip a (possibly nested) comment starting at ``data[pos] == '('``."""
    depth = 0
    out = bytearray()
    length = len(data)
    while pos < length:
        byte = data[pos]
        if byte == 0x5C and pos + 1 < length:  # backslash
            out.append(data[pos + 1])
            pos += 2
            continue
        if byte == 0x28:
            depth += 1
            if depth > 1:
                out.append(byte)
        elif byte == 0x29:
            depth -= 1
            if depth == 0:
                return bytes(out), pos + 1
            out.append(byte)
        elif byte not in (13, 10):
            out.append(byte)
        pos += 1
    return bytes(out), pos


def _quoted(data: bytes, pos: int) -> tuple[bytes, int, bool]:
    """Read a quoted string starting at ``data[pos] == '"'``: (value, end, terminated).
    An unterminated one runs to the end of the value."""
    out = bytearray()
    pos += 1
    length = len(data)
    while pos < length:
        byte = data[pos]
        if byte == 0x5C and pos + 1 < length:
            out.append(data[pos + 1])
            pos += 2
            continue
        if byte == 0x22:
            return bytes(out), pos + 1, True
        if byte not in (13, 10):
            out.append(byte)
        pos += 1
    return bytes(out), pos, False


def _scanner(specials: frozenset[int]) -> re.Pattern[bytes]:
    """One regex step of the tokenizer: white space, an atom, or one special byte."""
    escaped = re.escape(bytes(sorted(specials)))
    return re.compile(rb"([ \t\r\n]+)|([^ \t\r\n" + escaped + rb"]+)|(.)", re.DOTALL)


_ADDRESS_SCANNER = _scanner(ADDRESS_SPECIALS)
_MIME_SCANNER = _scanner(MIME_SPECIALS)


def tokenize(data: bytes, specials: frozenset[int]) -> tuple[list[Token], bytes | None]:
    """Tokens of a header value, comments dropped; also a comment that follows the last token.

    Each token carries the comment just before it, so a parser can find the comment that
    trails an addr-spec (``user@host (Name)``) on the token after it.
    """
    if specials is ADDRESS_SPECIALS:
        scanner = _ADDRESS_SCANNER
    elif specials is MIME_SPECIALS:
        scanner = _MIME_SCANNER
    else:
        scanner = _scanner(specials)
    literal_domains = 0x5B in specials
    tokens: list[Token] = []
    pos = 0
    length = len(data)
    comment: bytes | None = None
    while pos < length:
        match = scanner.match(data, pos)
        assert match is not None  # the last alternative matches any byte
        kind = match.lastindex
        if kind == 1:  # white space
            pos = match.end()
        elif kind == 2:  # atom
            tokens.append(Token("atom", match.group(2), comment))
            comment = None
            pos = match.end()
        else:
            byte = data[pos]
            if byte == 0x28:
                comment, pos = _skip_comment(data, pos)
            elif byte == 0x22:
                value, pos, terminated = _quoted(data, pos)
                tokens.append(Token("quoted", value, comment, not terminated))
                comment = None
            elif byte == 0x5B and literal_domains:
                close = data.find(b"]", pos)
                close = length if close < 0 else close + 1
                tokens.append(Token("literal", data[pos:close], comment))
                comment = None
                pos = close
            else:
                tokens.append(Token("special", bytes((byte,)), comment))
                comment = None
                pos += 1
    return tokens, comment


def is_special(token: Token, char: bytes) -> bool:
    return token.kind == "special" and token.value == char
