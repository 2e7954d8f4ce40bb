"""IMAP string atoms for ENVELOPE and BODYSTRUCTURE, written the way Dovecot writes them.

A value goes out as a quoted string when it can, as a literal ``{n}\\r\\n...`` when it holds
8-bit bytes, CR, LF or many quoted-specials (RFC 3501 section 4.3), and as ``NIL`` when absent.
Subjects and display names go through :func:`for_humans` (whitespace runs squeezed, a literal
as soon as anything needs escaping), as Dovecot 2.3 writes them.
"""

from __future__ import annotations

import re

NIL = b"NIL"

# Dovecot switches from a quoted string to a literal once a value needs more than this many
# backslash escapes; copying the rule keeps ENVELOPE/BODYSTRUCTURE byte-identical to Dovecot.
MAX_QUOTED_ESCAPES = 4

_NEEDS_LITERAL = re.compile(rb"[\r\n\x00\x80-\xff]")


def literal(value: bytes) -> bytes:
    """``{n}\\r\\n`` followed by the bytes."""
    return b"{%d}\r\n%s" % (len(value), value)


def string(value: bytes) -> bytes:
    """An IMAP string: quoted when possible, else a literal."""
    if _NEEDS_LITERAL.search(value) is not None:
        return literal(value)
    escapes = value.count(b"\\") + value.count(b'"')
    if escapes > MAX_QUOTED_ESCAPES:
        return literal(value)
    if escapes:
        value = value.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    return b'"' + value + b'"'


def nstring(value: bytes | None) -> bytes:
    """``NIL`` for None, else :func:`string`."""
    return NIL if value is None else string(value)


def nolf(value: bytes) -> bytes:
    """Drop CR and LF from a header value, keeping a space where lines met without one."""
    if b"\r" not in value and b"\n" not in value:
        return value
    out = bytearray()
    length = len(value)
    for i, byte in enumerate(value):
        if byte not in (13, 10):
            out.append(byte)
        elif i + 1 < length and value[i + 1] not in (32, 9, 13, 10):
            out.append(32)
    return bytes(out)


def nstring_nolf(value: bytes | None) -> bytes:
    """:func:`nstring` of the value with line breaks removed (Dovecot's ``nstring_nolf``)."""
    return NIL if value is None else string(nolf(value))


_LWSP = frozenset(b" \t\r\n")
# Anything that makes Dovecot rewrite a for-humans string (and so send it as a literal).
_HUMAN_MODIFY = re.compile(rb'[\t\r\n\x00"\\\x80-\xff]|  |\A | \Z')


def for_humans(value: bytes) -> bytes:
    """A string for people to read (Subject, display names), as Dovecot writes it.

    Tabs, CR and LF become spaces, runs of white space one space, leading and trailing
    white space go, NUL becomes 0x80; a value that needed any of that, or holds ``"``,
    ``\\`` or 8-bit bytes, goes out as a literal, anything else as a plain quoted string.
    """
    if _HUMAN_MODIFY.search(value) is None:
        return b'"' + value + b'"'
    out = bytearray()
    last_space = True
    for byte in value:
        if byte in _LWSP:
            if not last_space:
                out.append(32)
            last_space = True
        else:
            out.append(0x80 if byte == 0 else byte)
            last_space = False
    if out[-1:] == b" ":
        del out[-1]
    if not out:
        return b'""'
    return literal(bytes(out))
