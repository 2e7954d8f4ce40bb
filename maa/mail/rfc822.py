"""The RFC 5322 / RFC 2045 parsing steps Dovecot's rfc822-parser uses, over one header value.

Ported step by step rather than taken from ``email._header_value_parser`` (private, and it
re-serialises what it parses): ENVELOPE and BODYSTRUCTURE must echo values exactly as
Dovecot does, including how it recovers from broken input. Works on bytes; never raises.
Step results follow Dovecot: 1 = more data follows, 0 = end of the value, -1 = invalid.
"""

from __future__ import annotations

# RFC 5322 atext; 8-bit bytes count as atext, as in Dovecot (UTF-8 headers).
ATEXT = (
    frozenset(b"!#$%&'*+-/=?^_`{|}~")
    | frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    | frozenset(range(0x80, 0x100))
)
# RFC 2045 token: atext and "." without "/", "?" and "=".
MIME_TOKEN = (ATEXT | {0x2E}) - frozenset(b"/?=")
_ATEXT_OR_DOT = ATEXT | {0x2E}
_LWSP = frozenset(b" \t\r\n")


class Cursor:
    """A position in a header value (already unfolded) and the parsing steps over it."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos
        self.last_comment = b""  # the most recent comment skipped, without its parentheses

    @property
    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def peek(self) -> int:
        """The byte at the position, or -1 at the end."""
        return self.data[self.pos] if self.pos < len(self.data) else -1

    def _comment(self) -> bool:
        data, length = self.data, len(self.data)
        out = bytearray()
        depth = 0
        while self.pos < length:
            byte = data[self.pos]
            if byte == 0x5C and self.pos + 1 < length:
                out.append(data[self.pos + 1])
                self.pos += 2
                continue
            self.pos += 1
            if byte == 0x28:
                depth += 1
                if depth == 1:
                    continue
            elif byte == 0x29:
                depth -= 1
                if depth == 0:
                    self.last_comment = bytes(out)
                    return True
            out.append(byte)
        return False

    def skip_lwsp(self) -> int:
        """Skip white space and comments: 1 if data follows, 0 at the end, -1 inside an
        unterminated comment."""
        data, length = self.data, len(self.data)
        while self.pos < length:
            byte = data[self.pos]
            if byte in _LWSP:
                self.pos += 1
            elif byte == 0x28:
                if not self._comment():
                    return -1
            else:
                return 1
        return 0

    def _run(self, allowed: frozenset[int]) -> bytes:
        start = self.pos
        data, length = self.data, len(self.data)
        while self.pos < length and data[self.pos] in allowed:
            self.pos += 1
        return data[start : self.pos]

    def token(self, allowed: frozenset[int] = MIME_TOKEN) -> tuple[int, bytes]:
        """A run of allowed bytes (possibly empty), then white space and comments."""
        value = self._run(allowed)
        return self.skip_lwsp(), value

    def atom(self, allowed: frozenset[int] = ATEXT) -> tuple[int, bytes]:
        """A non-empty run of atext (or ``allowed``) bytes, then white space; -1 if none."""
        if self.peek() not in allowed:
            return -1, b""
        return self.token(allowed)

    def dot_atom(self) -> tuple[int, bytes]:
        """atext runs joined by dots, white space allowed after a dot (obs-local-part)."""
        if self.peek() not in ATEXT:
            return -1, b""
        out = bytearray(self._run(ATEXT))
        while self.peek() == 0x2E:
            self.pos += 1
            out.append(0x2E)
            result = self.skip_lwsp()
            if result <= 0:
                return result, bytes(out)
            out += self._run(ATEXT)
        return self.skip_lwsp(), bytes(out)

    def quoted_string(self) -> tuple[int, bytes]:
        """A quoted string at the position, unescaped; -1 if it never ends."""
        data, length = self.data, len(self.data)
        out = bytearray()
        self.pos += 1
        while self.pos < length:
            byte = data[self.pos]
            if byte == 0x5C and self.pos + 1 < length:
                out.append(data[self.pos + 1])
                self.pos += 2
                continue
            self.pos += 1
            if byte == 0x22:
                return self.skip_lwsp(), bytes(out)
            if byte not in (13, 10):
                out.append(byte)
        return -1, bytes(out)

    def domain_literal(self) -> tuple[int, bytes]:
        """``[...]`` kept with its brackets; -1 if it never closes."""
        end = self.data.find(b"]", self.pos)
        if end < 0:
            self.pos = len(self.data)
            return -1, b""
        value = self.data[self.pos : end + 1]
        self.pos = end + 1
        return self.skip_lwsp(), value

    def phrase(self) -> tuple[int, bytes]:
        """Words (atoms with dots, quoted strings) joined by single spaces. An empty phrase
        before something that is not a word is fine (1, b"")."""
        if self.at_end:
            return 0, b""
        if self.peek() == 0x2E:
            return -1, b""
        words: list[bytes] = []
        while True:
            byte = self.peek()
            if byte == 0x22:
                result, word = self.quoted_string()
            elif byte in _ATEXT_OR_DOT:
                result, word = self.token(_ATEXT_OR_DOT)
            else:
                break
            if result < 0:
                return -1, b" ".join(words)
            words.append(word)
            if result == 0:
                return 0, b" ".join(words)
        return 1, b" ".join(words)
