"""RFC 5322 address lists as IMAP ENVELOPE sees them: (name, route, mailbox, host) entries.

Groups are kept (a start entry with the group name as mailbox, an end entry with all fields
None), display names and comments are left RFC 2047-encoded, and a missing mailbox or host is
filled in with ``MISSING_MAILBOX`` / ``MISSING_DOMAIN`` as Dovecot does, so that clients that
require both never see NIL there. The parser is a step-by-step port of Dovecot's
message-address.c, so that broken lists are recovered from exactly as Dovecot does.
"""

from __future__ import annotations

from dataclasses import dataclass

from maa.mail.rfc822 import Cursor

MISSING_MAILBOX = b"MISSING_MAILBOX"
MISSING_DOMAIN = b"MISSING_DOMAIN"
# Dovecot's host for an angle address that never closes (``Name <user@host``).
SYNTAX_ERROR = b"SYNTAX_ERROR"
# Dovecot's route for a source route that does not end in ":".
INVALID_ROUTE = b"INVALID_ROUTE"


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


class _Fields:
    """The address being read (Dovecot's ``ctx->addr``)."""

    __slots__ = ("domain", "invalid", "mailbox", "name", "route")

    def __init__(self) -> None:
        self.name: bytes | None = None
        self.route: bytes | None = None
        self.mailbox: bytes | None = None
        self.domain: bytes | None = None
        self.invalid = False


class _Parser:
    """A port of Dovecot's message-address.c list parser with FILL_MISSING."""

    def __init__(self, value: bytes) -> None:
        self.cursor = Cursor(value)
        self.out: list[Address] = []
        self.addr = _Fields()
        self.text = b""  # the last local part read (Dovecot's ctx->str)

    def add(self) -> None:
        addr = self.addr
        self.out.append(Address(addr.name, addr.route, addr.mailbox, addr.domain))
        self.addr = _Fields()

    def add_fixed(self) -> None:
        if self.addr.mailbox is None:
            self.addr.mailbox = MISSING_MAILBOX
        if not self.addr.domain:
            self.addr.domain = MISSING_DOMAIN
        self.add()

    def local_part(self) -> int:
        cursor = self.cursor
        if cursor.peek() == 0x22:
            result, value = cursor.quoted_string()
        else:
            result, value = cursor.dot_atom()
        if result < 0:
            return -1
        self.addr.mailbox = value
        self.text = value
        return result

    def domain(self) -> tuple[int, bytes]:
        cursor = self.cursor
        cursor.pos += 1  # "@"
        if cursor.skip_lwsp() <= 0:
            return -1, b""
        if cursor.peek() == 0x5B:
            return cursor.domain_literal()
        return cursor.dot_atom()

    def domain_list(self) -> int:
        cursor = self.cursor
        route = bytearray()
        while True:
            if cursor.at_end:
                return 0
            if cursor.peek() != 0x40:
                break
            if route:
                route += b","
            result, value = self.domain()
            route += b"@" + value
            if result <= 0:
                return result
            while cursor.skip_lwsp() > 0 and cursor.peek() == 0x2C:
                cursor.pos += 1
        self.addr.route = bytes(route)
        return 1

    def angle_addr(self) -> int:
        cursor = self.cursor
        cursor.pos += 1  # "<"
        if cursor.skip_lwsp() <= 0:
            return -1
        if cursor.peek() == 0x40:
            if self.domain_list() > 0 and cursor.peek() == 0x3A:
                cursor.pos += 1
            else:
                self.addr.route = INVALID_ROUTE
                if cursor.at_end:
                    return -1
            if cursor.skip_lwsp() <= 0:
                return -1
        if cursor.peek() != 0x3E:  # "<>" has no mailbox
            if self.local_part() <= 0:
                return -1
            if cursor.peek() == 0x40:
                result, value = self.domain()
                self.addr.domain = value
                if result <= 0:
                    return -1
        if cursor.peek() != 0x3E:
            return -1
        cursor.pos += 1
        return cursor.skip_lwsp()

    def name_addr(self) -> int:
        cursor = self.cursor
        result, phrase = cursor.phrase()
        if result <= 0 or cursor.peek() != 0x3C:
            return -1
        self.addr.name = phrase or None
        if self.angle_addr() < 0:
            self.addr.domain = SYNTAX_ERROR
            self.addr.invalid = True
        return 0 if cursor.at_end else 1

    def addr_spec(self) -> int:
        cursor = self.cursor
        cursor.last_comment = b""
        quoted = cursor.peek() == 0x22
        self.text = b""
        result = self.local_part()
        if result <= 0:
            self.addr.invalid = True
        domain_result = -2
        if result != 0 and not cursor.at_end and cursor.peek() == 0x40:
            domain_result, value = self.domain()
            self.addr.domain = value if domain_result >= 0 else None
            if domain_result <= 0:
                result = domain_result
        if cursor.last_comment:
            self.addr.name = cursor.last_comment
        elif domain_result == -2:
            # "user" alone is a mailbox; "user and more words" a display name.
            _, more = cursor.phrase()
            if more:
                self.addr.mailbox = None
                self.addr.name = self.text + b" " + more
            elif not quoted:
                self.addr.domain = b""
            self.addr.invalid = True
            result = -1
        return result

    def mailbox(self) -> int:
        cursor = self.cursor
        start = cursor.pos
        result = self.name_addr()
        if result < 0:
            cursor.pos = start
            self.addr = _Fields()
            result = self.addr_spec()
            addr = self.addr
            lone = addr.name is None and addr.mailbox is not None and addr.domain is None
            if addr.invalid and lone:  # a quoted "local part" alone is a display name
                addr.name, addr.mailbox = addr.mailbox, None
        self.add_fixed()
        return result

    def group(self) -> int:
        cursor = self.cursor
        result, phrase = cursor.phrase()
        if result <= 0 or cursor.peek() != 0x3A:
            return -1
        cursor.pos += 1
        result = cursor.skip_lwsp()
        self.addr.mailbox = phrase
        self.add()
        if result > 0 and cursor.peek() != 0x3B:
            while True:
                self.mailbox()
                if cursor.at_end or cursor.peek() != 0x2C:
                    break
                cursor.pos += 1
                if cursor.skip_lwsp() <= 0:
                    result = -1
                    break
        if result >= 0:
            if cursor.at_end or cursor.peek() != 0x3B:
                result = -1
            else:
                cursor.pos += 1
                result = cursor.skip_lwsp()
        self.add()  # the group's end marker
        return 0 if result == 0 else 1

    def address(self) -> int:
        start = self.cursor.pos
        result = self.group()
        if result < 0:
            self.cursor.pos = start
            self.addr = _Fields()
            result = self.mailbox()
        return result

    def address_list(self) -> list[Address]:
        cursor = self.cursor
        if cursor.skip_lwsp() <= 0:
            return []
        while True:
            if self.address() == 0:
                break
            if cursor.at_end or cursor.peek() != 0x2C:
                break
            cursor.pos += 1
            result = cursor.skip_lwsp()
            if result <= 0:
                if result < 0:  # ends with garbage
                    self.add_fixed()
                break
        return self.out


def parse_address_list(value: bytes) -> list[Address]:
    """Every address and group marker in a From/To/Cc/... value, in order, recovering from
    broken input exactly as Dovecot does (so ENVELOPE output matches). Never raises."""
    return _Parser(value).address_list()
