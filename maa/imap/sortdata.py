"""The per-message keys SORT and THREAD compare, kept in the folder's message cache.

A message's header never changes, so its keys (base subject, first addresses, display names,
sent date, Message-ID, References) are worked out once from its header block and stored with
``Folder.set_cached(uid, "sortkeys", ...)``: a later SORT or THREAD, in this session or
another, reads no message file and parses nothing. The session view memoises the decoded
records too, so re-sorting in one session does not even decode the cache.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from maa import mail
from maa.storage.interface import Folder

CACHE_FIELD = "sortkeys"
# Bump when the record's shape or the key rules change: old records are then recomputed.
_VERSION = 1
SORT_FIELDS = ("CC", "DATE", "FROM", "IN-REPLY-TO", "MESSAGE-ID", "REFERENCES", "SUBJECT", "TO")


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


def compute(header: bytes) -> SortData:
    """The keys of a message from its header block (or just its SORT_FIELDS)."""
    subjects = mail.decoded_header(header, "Subject")
    subject = subjects[0] if subjects else ""
    sent = mail.header_date(header)
    key = mail.collation_key
    return SortData(
        subject=subject,
        base_subject=key(mail.base_subject(subject)),
        from_=key(mail.sort_address(header, "from")),
        to=key(mail.sort_address(header, "to")),
        cc=key(mail.sort_address(header, "cc")),
        display_from=key(mail.display_name(header, "from")),
        display_to=key(mail.display_name(header, "to")),
        sent=sent.timestamp() if sent is not None else None,
        message_id=mail.message_id(header),
        references=tuple(mail.references(header)),
    )


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
        data = compute(mail.header_fields(header(), SORT_FIELDS))
        folder.set_cached(uid, CACHE_FIELD, _encode(data))
    if memo is not None:
        memo[uid] = data
    return data
