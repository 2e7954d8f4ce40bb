"""The Content-* fields of one MIME part, parsed for BODYSTRUCTURE (RFC 2045, 2183, 3066).

Values are bytes exactly as the header has them (case kept). Parameters come as Dovecot's
rfc2231 parser gives them: plain ones in header order, then the RFC 2231 ones (``name*``,
``name*0``, ``name*1*``...) sorted by name, continuations joined, values still encoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from maa.mail.headers import field_value, iter_fields
from maa.mail.rfc822 import Cursor

Params = tuple[tuple[bytes, bytes], ...]

_CONTINUATION = re.compile(rb"^([^*]*)\*([0-9]+)(\*?)$")


@dataclass(frozen=True, slots=True)
class ContentFields:
    """What a part's header says about its content; None where the field is absent."""

    type: bytes | None = None  # None: no Content-Type, the context's default applies
    subtype: bytes | None = None  # None: the Content-Type had no "/"
    params: Params = ()
    encoding: bytes | None = None
    id: bytes | None = None
    description: bytes | None = None
    md5: bytes | None = None
    disposition: bytes | None = None
    disposition_params: Params = ()
    language: tuple[bytes, ...] | None = None
    location: bytes | None = None

    def param(self, name: bytes) -> bytes | None:
        """A Content-Type parameter by (case-insensitive) name."""
        lowered = name.lower()
        for key, value in self.params:
            if key.lower() == lowered:
                return value
        return None


def _param(cursor: Cursor) -> tuple[bytes, bytes] | None:
    """``; key=value`` (Dovecot's rfc822_parse_content_param); None when malformed, with
    the cursor where parsing stopped."""
    if cursor.peek() != 0x3B:
        return None
    cursor.pos += 1
    if cursor.skip_lwsp() <= 0:
        return None
    result, key = cursor.token()
    if result <= 0 or not key or cursor.peek() != 0x3D:
        return None
    cursor.pos += 1
    if cursor.skip_lwsp() <= 0:
        return None
    if cursor.peek() == 0x22:
        result, value = cursor.quoted_string()
    else:
        result, value = cursor.token()
    return None if result < 0 else (key, value)


def _params(cursor: Cursor) -> Params:
    """Parameters as Dovecot's rfc2231 parser returns them: after a malformed one it skips
    a byte and tries again; ``name*N[*]`` pieces are merged (sorted, after the plain ones)
    unless an index is missing."""
    plain: list[tuple[bytes, bytes]] = []
    pieces: list[tuple[bytes, int, bool, bytes]] = []
    while not cursor.at_end:
        found = _param(cursor)
        if found is None:
            cursor.pos += 1
            continue
        key, value = found
        match = _CONTINUATION.match(key)
        if match is not None:
            pieces.append((match.group(1), int(match.group(2)), bool(match.group(3)), value))
        elif key.endswith(b"*") and b"*" not in key[:-1]:
            pieces.append((key[:-1], 0, True, value))
        else:
            plain.append((key, value))
    pieces.sort(key=lambda piece: (piece[0], piece[1]))
    i = 0
    while i < len(pieces):
        j = i
        while j < len(pieces) and pieces[j][0].lower() == pieces[i][0].lower():
            j += 1
        group = pieces[i:j]
        if any(piece[1] != index for index, piece in enumerate(group)):
            for base, index, extended, value in group:
                plain.append((base + b"*%d" % index + (b"*" if extended else b""), value))
        else:
            extended = any(piece[2] for piece in group)
            joined = b"''" if extended and not group[0][2] else b""
            for _, _, piece_extended, value in group:
                joined += value.replace(b"%", b"%25") if extended and not piece_extended else value
            plain.append((group[0][0] + (b"*" if extended else b""), joined))
        i = j
    return tuple(plain)


def _content_type(value: bytes) -> tuple[bytes, bytes | None, Params]:
    """(type, subtype, params), keeping what Dovecot keeps of a broken value: ``text``
    alone gives (b"text", None); ``text; x=y``, ``text/``, ``text/plain junk`` and an
    empty value give (b"", None) and no parameters."""
    cursor = Cursor(value)
    if cursor.skip_lwsp() <= 0:
        return b"", None, ()
    result, ctype = cursor.token()
    if not ctype:
        return b"", None, ()
    if result == 0:  # the type and nothing after it
        return ctype, None, ()
    if result < 0 or cursor.peek() != 0x2F:
        return b"", None, ()
    cursor.pos += 1
    if cursor.skip_lwsp() <= 0:
        return b"", None, ()
    result, subtype = cursor.token()
    if result < 0 or not subtype or not (cursor.at_end or cursor.peek() == 0x3B):
        return b"", None, ()
    return ctype, subtype, _params(cursor)


def _disposition(value: bytes) -> tuple[bytes, Params]:
    cursor = Cursor(value)
    cursor.skip_lwsp()
    _, disposition = cursor.token()
    return disposition, _params(cursor)


def _token(value: bytes) -> bytes | None:
    """The value if it is exactly one token (comments aside), else None."""
    cursor = Cursor(value)
    cursor.skip_lwsp()
    result, token = cursor.token()
    return token if token and result == 0 else None


def _language(value: bytes) -> tuple[bytes, ...] | None:
    """Language tags: atoms separated by commas, up to the first thing that is not."""
    cursor = Cursor(value)
    cursor.skip_lwsp()
    tags: list[bytes] = []
    while True:
        result, tag = cursor.atom()
        if result < 0:
            break
        tags.append(tag)
        if cursor.peek() != 0x2C:
            break
        cursor.pos += 1
        cursor.skip_lwsp()
    return tuple(tags) or None


def parse_content_fields(raw_headers: bytes) -> ContentFields:
    """The Content-* fields of a part header block: the first of each counts, except that
    an invalid Transfer-Encoding or Language is passed over for a later valid one and a
    Disposition without parameters for a later one, as in Dovecot."""
    found: dict[bytes, bytes] = {}
    dispositions: list[bytes] = []
    for name, field in iter_fields(raw_headers):
        if name == b"content-disposition":
            dispositions.append(field_value(field))
        elif name == b"content-transfer-encoding":
            if b"content-transfer-encoding" not in found:  # the first valid one counts
                value = field_value(field)
                if _token(value) is not None:
                    found[name] = value
        elif name == b"content-language":
            if name not in found and _language(field_value(field)) is not None:
                found[name] = field_value(field)
        elif name.startswith(b"content-") and name not in found:
            found[name] = field_value(field)
    if not found and not dispositions:
        return ContentFields()
    ctype: bytes | None = None
    subtype: bytes | None = None
    params: Params = ()
    if b"content-type" in found:
        ctype, subtype, params = _content_type(found[b"content-type"])
    disposition: bytes | None = None
    disposition_params: Params = ()
    for value in dispositions:  # Dovecot reads another one while none had parameters
        disposition, disposition_params = _disposition(value)
        if disposition_params:
            break
    encoding = found.get(b"content-transfer-encoding")
    return ContentFields(
        type=ctype,
        subtype=subtype,
        params=params,
        encoding=None if encoding is None else _token(encoding),
        id=found.get(b"content-id"),
        description=found.get(b"content-description"),
        md5=found.get(b"content-md5"),
        disposition=disposition,
        disposition_params=disposition_params,
        language=_language(found[b"content-language"]) if b"content-language" in found else None,
        location=found.get(b"content-location"),
    )
