"""RFC 5322 address lists as IMAP ENVELOPE sees them: (name, route, mailbox, host) entries.

Groups are kept (a start entry with the group name as mailbox, an end entry with all fields
None), display names and comments are left RFC 2047-encoded, and a missing mailbox or host is
filled in with ``MISSING_MAILBOX`` / ``MISSING_DOMAIN`` as Dovecot does, so that clients that
require both never see NIL there.
"""

from __future__ import annotations

from dataclasses import dataclass

from maa.mail.rfc822 import ADDRESS_SPECIALS, Token, is_special, tokenize

MISSING_MAILBOX = b"MISSING_MAILBOX"
MISSING_DOMAIN = b"MISSING_DOMAIN"
# Dovecot's host for an angle address that never closes (``Name <user@host``).
SYNTAX_ERROR = b"SYNTAX_ERROR"


@dataclass(frozen=True, slots=True)
class Address:
    """One ENVELOPE address entry; see the module docstring for group markers."""

    name: bytes | None
    route: bytes | None
    mailbox: bytes | None
    host: bytes | None

    @property
    def is_group_start(self) -> bool:
        return self.host is None and self.mailbox is not None

    @property
    def is_group_end(self) -> bool:
        return self.mailbox is None and self.host is None

    @property
    def addr_spec(self) -> bytes:
        """``mailbox@host`` (empty for group markers)."""
        if self.mailbox is None or self.host is None:
            return b""
        return self.mailbox + b"@" + self.host


GROUP_END = Address(None, None, None, None)


def _phrase(tokens: list[Token]) -> bytes:
    return b" ".join(token.value for token in tokens)


def _joined(tokens: list[Token]) -> bytes:
    return b"".join(token.value for token in tokens)


def _mailbox(name: bytes | None, route: bytes | None, local: bytes, host: bytes | None) -> Address:
    return Address(name or None, route or None, local or MISSING_MAILBOX, host or MISSING_DOMAIN)


def _until(tokens: list[Token], i: int, stops: tuple[bytes, ...]) -> int:
    n = len(tokens)
    while i < n and not (tokens[i].kind == "special" and tokens[i].value in stops):
        i += 1
    return i


def _angle(tokens: list[Token], i: int, name: bytes | None) -> tuple[Address, int]:
    """Parse from just after ``<``; return the address and the index after ``>``."""
    n = len(tokens)
    route: bytes | None = None
    if i < n and is_special(tokens[i], b"@"):
        colon = _until(tokens, i, (b":", b">"))
        if colon < n and is_special(tokens[colon], b":"):
            route = _joined(tokens[i:colon])
            i = colon + 1
    at = _until(tokens, i, (b"@", b">"))
    local = _joined(tokens[i:at])
    host: bytes | None = None
    if at < n and is_special(tokens[at], b"@"):
        end = _until(tokens, at + 1, (b">",))
        host = _joined(tokens[at + 1 : end])
    else:
        end = at
    if end >= n:  # no ">"
        host = SYNTAX_ERROR
    return _mailbox(name, route, local, host), min(end + 1, n)


def parse_address_list(value: bytes) -> list[Address]:
    """Every address and group marker in a From/To/Cc/... value, in order. Never raises."""
    tokens, trailing_comment = tokenize(value, ADDRESS_SPECIALS)
    out: list[Address] = []
    n = len(tokens)
    i = 0
    in_group = False
    while i < n:
        token = tokens[i]
        if token.kind == "special" and token.value in (b",", b";", b">", b":"):
            if token.value == b";" and in_group:
                out.append(GROUP_END)
                in_group = False
            i += 1
            continue
        j = i
        while j < n and tokens[j].kind in ("atom", "quoted"):
            j += 1
        following = tokens[j] if j < n else None
        if following is not None and is_special(following, b":") and not in_group:
            out.append(Address(None, None, _phrase(tokens[i:j]), None))
            in_group = True
            i = j + 1
            continue
        if following is not None and is_special(following, b"<"):
            address, i = _angle(tokens, j + 1, _phrase(tokens[i:j]))
            out.append(address)
            continue
        # addr-spec, perhaps with a comment as the display name
        end = _until(tokens, i, (b",", b";", b"<"))
        if end == i:
            i += 1
            continue
        if any(token.broken for token in tokens[i:end]):
            out.append(_mailbox(None, None, b"", None))
            i = end
            continue
        at = _until(tokens, i, (b"@", b",", b";", b"<"))
        at = min(at, end)
        local = _joined(tokens[i:at])
        host = _joined(tokens[at + 1 : end]) if at < end else None
        comments = [t.comment for t in tokens[i + 1 : end] if t.comment is not None]
        trailing = tokens[end].comment if end < n else trailing_comment
        if trailing is not None:
            comments.append(trailing)
        out.append(_mailbox(comments[-1] if comments else None, None, local, host))
        i = end
    if in_group:
        out.append(GROUP_END)
    return out
