"""Grammar primitives of RFC 3501 section 9 over a framed command's segments.

A ``Cursor`` walks the text segments and the literals between them once; each command's
``parse`` classmethod takes what it needs and leaves the rest. Errors raise ``ParseError``,
which the session answers with ``BAD``.
"""

from __future__ import annotations

from maa.proto.imap.framing import Literal, Segment

# RFC 3501 ATOM-CHAR: any CHAR except atom-specials ( ) { SP CTL % * " \ ]
_ATOM_SPECIALS = frozenset(b'(){ %*"\\]')
_ATOM_CHARS = frozenset(c for c in range(0x21, 0x7F) if c not in _ATOM_SPECIALS)
# ASTRING-CHAR adds resp-specials "]"; list-char adds list-wildcards "%" "*".
_ASTRING_CHARS = _ATOM_CHARS | {ord("]")}
_LIST_CHARS = _ASTRING_CHARS | {ord("%"), ord("*")}
_TAG_CHARS = _ASTRING_CHARS - {ord("+")}


class ParseError(Exception):
    """The command does not follow the grammar; the session replies BAD with this text."""


class UnsupportedCharset(ParseError):
    """A well-formed SEARCH, SORT or THREAD naming a charset maa does not search in: the
    session replies ``NO [BADCHARSET (...)]`` (RFC 3501 7.1), where clients look for the code,
    as Dovecot does."""


class Cursor:
    def __init__(self, segments: tuple[Segment, ...]) -> None:
        self._segments = segments
        self._index = 0
        self._pos = 0

    # -- position ---------------------------------------------------------------------------

    def _text(self) -> bytes:
        seg = self._segments[self._index] if self._index < len(self._segments) else b""
        return seg if isinstance(seg, bytes) else b""

    def _at_literal(self) -> bool:
        """True when the current text segment is used up and a literal comes next."""
        if self._index >= len(self._segments):
            return False
        seg = self._segments[self._index]
        if isinstance(seg, Literal):
            return True
        return self._pos >= len(seg) and self._index + 1 < len(self._segments)

    def peek(self) -> int | None:
        """The next byte, or None at the end of a segment (literal next, or command end)."""
        text = self._text()
        if self._pos < len(text):
            return text[self._pos]
        return None

    def at_end(self) -> bool:
        return self.peek() is None and not self._at_literal()

    def end(self) -> None:
        if not self.at_end():
            raise ParseError("Unexpected characters at end of command")

    def sp(self) -> None:
        if self.peek() != 0x20:
            raise ParseError("Expected a space")
        self._pos += 1

    def maybe_sp(self) -> bool:
        if self.peek() == 0x20:
            self._pos += 1
            return True
        return False

    def expect(self, char: bytes) -> None:
        if self.peek() != char[0]:
            raise ParseError(f"Expected {char.decode()!r}")
        self._pos += 1

    def maybe(self, char: bytes) -> bool:
        if self.peek() == char[0]:
            self._pos += 1
            return True
        return False

    def _run(self, allowed: frozenset[int] | set[int]) -> bytes:
        text = self._text()
        start = self._pos
        end = start
        while end < len(text) and text[end] in allowed:
            end += 1
        self._pos = end
        return text[start:end]

    # -- tokens -----------------------------------------------------------------------------

    def tag(self) -> str:
        tag = self._run(_TAG_CHARS)
        if not tag:
            raise ParseError("Missing tag")
        return tag.decode("ascii")

    def atom(self) -> str:
        atom = self._run(_ATOM_CHARS)
        if not atom:
            raise ParseError("Expected an atom")
        return atom.decode("ascii")

    def word(self, allowed: frozenset[int] | None = None) -> str:
        """An atom in upper case (command and item names)."""
        return self.atom().upper()

    def raw_until(self, stop: bytes) -> bytes:
        """Bytes up to (not including) any byte in ``stop`` (dates, section specs)."""
        text = self._text()
        start = self._pos
        end = start
        while end < len(text) and text[end] not in stop:
            end += 1
        self._pos = end
        return text[start:end]

    def number(self) -> int:
        digits = self._run(frozenset(b"0123456789"))
        if not digits or len(digits) > 10:
            raise ParseError("Expected a number")
        value = int(digits)
        if value > 0xFFFFFFFF:
            raise ParseError("Number too large")
        return value

    def nz_number(self) -> int:
        value = self.number()
        if value == 0:
            raise ParseError("Expected a non-zero number")
        return value

    def quoted(self) -> bytes:
        self.expect(b'"')
        text = self._text()
        out = bytearray()
        pos = self._pos
        while True:
            if pos >= len(text):
                raise ParseError("Unterminated quoted string")
            c = text[pos]
            if c == 0x22:
                break
            if c == 0x5C:
                pos += 1
                if pos >= len(text) or text[pos] not in (0x22, 0x5C):
                    raise ParseError("Invalid escape in quoted string")
                c = text[pos]
            out.append(c)
            pos += 1
        self._pos = pos + 1
        return bytes(out)

    def literal(self) -> Literal:
        if not self._at_literal():
            raise ParseError("Expected a literal")
        if isinstance(self._segments[self._index], bytes):
            self._index += 1
            self._pos = 0
        seg = self._segments[self._index]
        assert isinstance(seg, Literal)
        self._index += 1
        self._pos = 0
        return seg

    def string(self) -> bytes:
        if self.peek() == 0x22:
            return self.quoted()
        if self._at_literal():
            return self.literal().read_all()
        raise ParseError("Expected a string")

    def astring(self) -> bytes:
        if self.peek() == 0x22 or self._at_literal():
            return self.string()
        value = self._run(_ASTRING_CHARS)
        if not value:
            raise ParseError("Expected a string or atom")
        return value

    def nstring(self) -> bytes | None:
        if self.peek() in (ord("N"), ord("n")):
            text = self._text()[self._pos : self._pos + 3]
            if text.upper() == b"NIL":
                self._pos += 3
                return None
        return self.string()

    def list_mailbox(self) -> bytes:
        if self.peek() == 0x22 or self._at_literal():
            return self.string()
        value = self._run(_LIST_CHARS)
        if not value:
            raise ParseError("Expected a mailbox pattern")
        return value

    def flag(self) -> str:
        """``\\Seen``, ``\\*`` or a keyword atom."""
        if self.maybe(b"\\"):
            if self.maybe(b"*"):
                return "\\*"
            return "\\" + self.atom()
        return self.atom()

    def flag_list(self) -> tuple[str, ...]:
        self.expect(b"(")
        flags: list[str] = []
        while not self.maybe(b")"):
            if flags:
                self.sp()
            flags.append(self.flag())
        return tuple(flags)
