"""What IMAP SEARCH compares against: decoded headers, addresses, dates and body text."""

from __future__ import annotations

import binascii
import re
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

from maa.mail.addresses import parse_address_list
from maa.mail.headers import first_raw_value, raw_values
from maa.mail.mime import MessageParts, MimePart
from maa.mail.rfc2047 import decode_bytes, decode_header_value


def decoded_header(raw_headers: bytes, name: str) -> list[str]:
    """Every ``name`` field's value, unfolded and RFC 2047-decoded, in header order."""
    return [decode_header_value(value) for value in raw_values(raw_headers, name)]


def addresses(raw_headers: bytes, name: str) -> list[str]:
    """The addresses of every ``name`` field (From, To, ...) as people write them:
    ``Display Name <local@domain>`` (name decoded), or ``local@domain`` without a name.
    Group names are left out; their members are listed. Meant for SEARCH FROM/TO/CC/BCC."""
    out: list[str] = []
    for value in raw_values(raw_headers, name):
        for address in parse_address_list(value):
            if address.mailbox is None or address.host is None:
                continue
            spec = decode_header_value(address.addr_spec)
            if address.name:
                out.append(f"{decode_header_value(address.name)} <{spec}>")
            else:
                out.append(spec)
    return out


def header_date(raw_headers: bytes) -> datetime | None:
    """The first Date field as an aware datetime (``-0000`` and no zone read as UTC), or
    None when absent or unparseable. For SENTBEFORE/SENTON/SENTSINCE and SORT DATE."""
    value = first_raw_value(raw_headers, "date")
    if value is None:
        return None
    return _parse_date(value)


# The form nearly every Date field takes (RFC 5322 3.3): "Tue, 5 Mar 2024 10:00:00 +0100",
# an optional comment after the zone. Read by one match; anything else goes to email.utils.
_COMMON_DATE = re.compile(
    rb"[ \t]*(?:[A-Za-z]{3},[ \t]*)?(\d{1,2})[ \t]+([A-Za-z]{3})[ \t]+(\d{4})[ \t]+"
    rb"(\d\d):(\d\d):(\d\d)[ \t]+([+-]\d{4})[ \t]*(?:\([^()]*\)[ \t]*)?\Z"
)
# Month names in any case (looked up without lower-casing each one).
_MONTHS = {
    bytes(c ^ 0x20 if flip >> i & 1 else c for i, c in enumerate(name)): n
    for n, name in enumerate(b"jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)
    for flip in range(8)
}
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def date_value(value: bytes) -> float | None:
    """A Date field's (unfolded) value as POSIX seconds, as ``header_date`` reads it, or
    None. SORT DATE asks this of every message: the common form is read without
    email.utils, which took most of a first SORT's time."""
    match = _COMMON_DATE.match(value)
    if match is not None:
        day, month, year, hour, minute, second, zone = match.groups()
        number, h, m, s, z = _MONTHS.get(month), int(hour), int(minute), int(second), int(zone)
        offset = (abs(z) // 100 * 3600 + abs(z) % 100 * 60) * (1 if z >= 0 else -1)
        # Two-digit years (email.utils moves them to 19xx/20xx), zones of a day or more and
        # impossible dates are left to the general parser.
        if number is not None and h < 24 and m < 60 and s < 60 and abs(offset) < 86400:
            try:
                days = date(int(year), number, int(day)).toordinal() - _EPOCH_ORDINAL
            except ValueError:  # no such day, or a year before 1 (what datetime refuses)
                days = None
            if days is not None and int(year) >= 100:
                return float(days * 86400 + h * 3600 + m * 60 + s - offset)
    parsed = _parse_date(value)
    return None if parsed is None else parsed.timestamp()


def _parse_date(value: bytes) -> datetime | None:
    try:
        when = parsedate_to_datetime(value.decode("latin-1"))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def contains(haystack: str, needle: str) -> bool:
    """IMAP SEARCH's match: ``needle`` is a substring of ``haystack``, ignoring case
    (Unicode case folding, so ``STRASSE`` finds ``straße``)."""
    return needle.casefold() in haystack.casefold()


def transfer_decode(body: bytes, encoding: bytes | None) -> bytes:
    """A body with its Content-Transfer-Encoding undone (base64, quoted-printable); bad
    base64 is decoded as far as it goes; unknown encodings are returned as they are."""
    name = (encoding or b"").lower()
    if name == b"base64":
        compact = bytes(b for b in body if b not in b" \t\r\n")
        compact = compact[: len(compact) - len(compact) % 4]
        try:
            return binascii.a2b_base64(compact)
        except binascii.Error:
            return b""
    if name == b"quoted-printable":
        return binascii.a2b_qp(body)
    return body


def _searchable(part: MimePart) -> bool:
    return part.is_text and not part.multipart and part.message is None


def part_text(raw: bytes, part: MimePart) -> str:
    """One part's body as text: transfer-decoded, then charset-decoded (lossy)."""
    body = transfer_decode(raw[part.body_start : part.body_end], part.content.encoding)
    return decode_bytes(body, part.content.param(b"charset"))


def search_text(raw: bytes, parts: MessageParts) -> str:
    """The decoded text of every text/* part (embedded messages included), HTML as is,
    parts joined by newlines. For SEARCH BODY and, with the headers, SEARCH TEXT."""
    return "\n".join(part_text(raw, part) for part in parts.walk() if _searchable(part))
