"""Response serialisation (RFC 3501 section 9): atoms, quoted strings, literals, NIL, lists."""

from __future__ import annotations

from maa.proto.imap import mutf7
from maa.proto.imap.cursor import ParseError

# Quoted strings longer than this go out as literals: easier on clients and on us.
_MAX_QUOTED = 1024
_ATOM_SAFE = frozenset(c for c in range(0x21, 0x7F) if c not in b'(){ %*"\\]')


def string(value: bytes) -> bytes:
    """A quoted string when the value is short printable ASCII, else a literal."""
    if len(value) <= _MAX_QUOTED and all(0x20 <= b < 0x7F for b in value):
        return b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return literal(value)


def literal(value: bytes) -> bytes:
    return b"{%d}\r\n" % len(value) + value


def nstring(value: bytes | None) -> bytes:
    return b"NIL" if value is None else string(value)


def astring(value: bytes) -> bytes:
    """An atom when every byte allows it (``INBOX``), else a string."""
    if value and all(b in _ATOM_SAFE for b in value):
        return value
    return string(value)


def quoted_utf8(value: str) -> bytes:
    """A quoted string allowed to carry UTF-8 (ID values, after UTF8=ACCEPT)."""
    raw = value.encode("utf-8")
    if b"\r" in raw or b"\n" in raw or len(raw) > _MAX_QUOTED:
        return literal(raw)
    return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


# Flag lists by flag set: a folder's messages share a few sets, and FETCH FLAGS over a large
# folder would otherwise sort and encode the same set for every message.
_FLAG_LISTS: dict[frozenset[str], bytes] = {}


def flag_list(flags: frozenset[str] | set[str] | list[str] | tuple[str, ...]) -> bytes:
    if not isinstance(flags, frozenset):
        return b"(" + " ".join(sorted(flags)).encode("utf-8") + b")"
    found = _FLAG_LISTS.get(flags)
    if found is None:
        if len(_FLAG_LISTS) > 4096:  # keyword-heavy folders: keep the memo bounded
            _FLAG_LISTS.clear()
        found = _FLAG_LISTS[flags] = b"(" + " ".join(sorted(flags)).encode("utf-8") + b")"
    return found


def encode_mailbox(name: str, utf8: bool = False) -> bytes:
    """A folder name as the client sees it: modified UTF-7, or UTF-8 after UTF8=ACCEPT."""
    raw = name.encode("utf-8") if utf8 else mutf7.encode(name)
    return astring(raw) if not utf8 or raw.isascii() else quoted_utf8(name)


def decode_mailbox(raw: bytes, utf8: bool = False) -> str:
    """A mailbox argument as a folder name; ``INBOX`` in any case is ``INBOX``."""
    try:
        name = raw.decode("utf-8") if utf8 else mutf7.decode(raw)
    except (UnicodeDecodeError, ValueError) as e:
        raise ParseError("Invalid mailbox name encoding") from e
    if name.upper() == "INBOX":
        return "INBOX"
    if name.upper().startswith("INBOX."):
        return "INBOX" + name[5:]
    return name
