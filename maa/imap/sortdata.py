"""The per-message keys SORT and THREAD compare, kept in the folder's message cache.

A message's header never changes, so its keys (base subject, first addresses, display names,
sent date, Message-ID, References) are worked out once from its header block and stored with
``Folder.set_cached(uid, "sortkeys", ...)``: a later SORT or THREAD, in this session or
another, reads no message file and parses nothing. The session view memoises the decoded
records too, so re-sorting in one session does not even decode the cache.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from maa import mail
from maa.mail.addresses import parse_address_list
from maa.mail.headers import field_value, iter_fields
from maa.mail.rfc2047 import decode_header_value, raw_text
from maa.storage.interface import Folder

CACHE_FIELD = "sortkeys"
# Bump when the record's shape or the key rules change: old records are then recomputed.
_VERSION = 2
SORT_FIELDS = ("CC", "DATE", "FROM", "IN-REPLY-TO", "MESSAGE-ID", "REFERENCES", "SUBJECT", "TO")
_WANTED = frozenset(name.lower().encode() for name in SORT_FIELDS)


@dataclass(frozen=True, slots=True)
class SortData:
    subject: str  # decoded Subject (THREAD wants the reply marks base_subject removes)
    base_subject: bytes  # i;ascii-casemap key of the base subject (SORT SUBJECT)
    from_: bytes  # collation keys of SORT FROM/TO/CC/DISPLAYFROM/DISPLAYTO
    to: bytes
    cc: bytes
    display_from: bytes
    display_to: bytes
    sent: float | None  # Date field as POSIX seconds; None when missing or unparseable
    message_id: str | None
    references: tuple[str, ...]

    def sent_date(self, internal_date: float) -> datetime:
        """RFC 5256 2.2: the sent date, or the internal date when there is none."""
        return datetime.fromtimestamp(self.sent if self.sent is not None else internal_date, UTC)


def casemap(text: str) -> bytes:
    """The i;unicode-casemap collation key (RFC 5051), which Dovecot sorts with and RFC 5255
    makes the default: each character title-cased, then NFKD-decomposed, as UTF-8 octets.
    For ASCII it is i;ascii-casemap (upper case), so "Ärger" sorts among the A's."""
    if text.isascii():
        return text.upper().encode("ascii")
    titled = "".join(t if len(t := ch.title()) == 1 else ch for ch in text)
    return unicodedata.normalize("NFKD", titled).encode("utf-8", "surrogateescape")


def _address_keys(value: bytes | None) -> tuple[str, str]:
    """(SORT FROM/TO/CC text, DISPLAYFROM/DISPLAYTO text) of a field's first address, from
    one parse: the addr-mailbox (RFC 5256), and the decoded display name, else the
    ``mailbox@host`` (RFC 5957). A group comes first as its name (the addr-mailbox of its
    ENVELOPE start marker), as Dovecot sorts it."""
    addresses = parse_address_list(value) if value is not None else []
    if addresses and addresses[0].is_group_start and addresses[0].mailbox is not None:
        name = raw_text(addresses[0].mailbox)
        return name, name
    for address in addresses:
        if address.mailbox is None or address.host is None:
            continue
        display = decode_header_value(address.name).strip() if address.name else ""
        return raw_text(address.mailbox), display or raw_text(address.addr_spec)
    return "", ""


def compute(header: bytes) -> SortData:
    """The keys of a message from its header block (the first of each SORT_FIELDS counts)."""
    first: dict[bytes, bytes] = {}
    for name, field in iter_fields(header):
        if name in _WANTED and name not in first:
            first[name] = field
    block = b"".join(first.values())  # one field per name: every lookup below is short
    subject_value = first.get(b"subject")
    subject = decode_header_value(field_value(subject_value)) if subject_value else ""
    sent = mail.header_date(block)
    from_, display_from = _address_keys(_value(first, b"from"))
    to, display_to = _address_keys(_value(first, b"to"))
    cc, _ = _address_keys(_value(first, b"cc"))
    return SortData(
        subject=subject,
        base_subject=casemap(mail.base_subject(subject)),
        from_=casemap(from_),
        to=casemap(to),
        cc=casemap(cc),
        display_from=casemap(display_from),
        display_to=casemap(display_to),
        sent=sent.timestamp() if sent is not None else None,
        message_id=mail.message_id(block),
        references=tuple(mail.references(block)),
    )


def _value(first: dict[bytes, bytes], name: bytes) -> bytes | None:
    field = first.get(name)
    return None if field is None else field_value(field)


def _encode(data: SortData) -> bytes:
    def text(value: bytes) -> str:
        return value.decode("utf-8", "surrogateescape")

    record = [
        _VERSION,
        data.subject,
        text(data.base_subject),
        text(data.from_),
        text(data.to),
        text(data.cc),
        text(data.display_from),
        text(data.display_to),
        data.sent,
        data.message_id,
        list(data.references),
    ]
    return json.dumps(record, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _decode(value: bytes) -> SortData | None:
    try:
        record = json.loads(value)
        if not isinstance(record, list) or record[0] != _VERSION or len(record) != 11:
            return None
        _, subject, base, frm, to, cc, dfrom, dto, sent, msgid, refs = record

        def raw(text: str) -> bytes:
            return text.encode("utf-8", "surrogateescape")

        return SortData(
            subject,
            raw(base),
            raw(frm),
            raw(to),
            raw(cc),
            raw(dfrom),
            raw(dto),
            None if sent is None else float(sent),
            msgid,
            tuple(refs),
        )
    except (ValueError, TypeError, IndexError, UnicodeError):
        return None  # a damaged or older record: recompute it


def sort_data(
    folder: Folder,
    uid: int,
    header: Callable[[], bytes],
    memo: dict[int, SortData] | None = None,
) -> SortData:
    """The message's keys: from ``memo``, else the folder cache, else ``header()`` parsed
    (and then cached)."""
    if memo is not None:
        found = memo.get(uid)
        if found is not None:
            return found
    cached = folder.get_cached(uid, CACHE_FIELD)
    data = _decode(cached) if cached is not None else None
    if data is None:
        data = compute(header())
        folder.set_cached(uid, CACHE_FIELD, _encode(data))
    if memo is not None:
        memo[uid] = data
    return data
