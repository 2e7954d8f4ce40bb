"""The per-message keys SORT and THREAD compare, each worked out when first asked for.

A message's keys (base subject, first addresses, display names, sent date, Message-ID,
References) come from the fields of its header block that the folder's header cache keeps
(``headercache.search_fields``, filled by the client's first header FETCH or SEARCH), so a
SORT reads no message file once the headers are cached, and a SORT by DATE parses dates only:
working out every key of every message made a first SORT over 10,000 messages cost seconds.
The session view memoises the records, so re-sorting in one session parses nothing.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime

from maa import mail
from maa.imap import headercache
from maa.mail.addresses import parse_address_list
from maa.mail.headers import field_value, iter_fields
from maa.mail.rfc2047 import decode_header_value, raw_text
from maa.storage.interface import Folder

SORT_FIELDS = ("CC", "DATE", "FROM", "IN-REPLY-TO", "MESSAGE-ID", "REFERENCES", "SUBJECT", "TO")
_WANTED = frozenset(name.lower().encode() for name in SORT_FIELDS)


class SortData:
    """The SORT/THREAD keys of one message, from its header block (the first of each
    SORT_FIELDS counts), each parsed on first use."""

    def __init__(self, header: bytes) -> None:
        self._header = header

    @functools.cached_property
    def _first(self) -> dict[bytes, bytes]:
        first: dict[bytes, bytes] = {}
        for name, field in iter_fields(self._header):
            if name in _WANTED and name not in first:
                first[name] = field
        return first

    @functools.cached_property
    def _block(self) -> bytes:
        return b"".join(self._first.values())  # one field per name: every lookup is short

    def _value(self, name: bytes) -> bytes | None:
        field = self._first.get(name)
        return None if field is None else field_value(field)

    @functools.cached_property
    def subject(self) -> str:
        """The decoded Subject (THREAD wants the reply marks base_subject removes)."""
        value = self._value(b"subject")
        return decode_header_value(value) if value else ""

    @functools.cached_property
    def base_subject(self) -> bytes:
        """The collation key of the base subject (SORT SUBJECT)."""
        return casemap(mail.base_subject(self.subject))

    @functools.cached_property
    def _from(self) -> tuple[str, str]:
        return _address_keys(self._value(b"from"))

    @functools.cached_property
    def _to(self) -> tuple[str, str]:
        return _address_keys(self._value(b"to"))

    @functools.cached_property
    def from_(self) -> bytes:
        return casemap(self._from[0])

    @functools.cached_property
    def display_from(self) -> bytes:
        return casemap(self._from[1])

    @functools.cached_property
    def to(self) -> bytes:
        return casemap(self._to[0])

    @functools.cached_property
    def display_to(self) -> bytes:
        return casemap(self._to[1])

    @functools.cached_property
    def cc(self) -> bytes:
        return casemap(_address_keys(self._value(b"cc"))[0])

    @functools.cached_property
    def sent(self) -> float | None:
        """The Date field as POSIX seconds; None when missing or unparseable."""
        value = self._value(b"date")
        return None if value is None else mail.date_value(value)

    @functools.cached_property
    def message_id(self) -> str | None:
        return mail.message_id(self._block)

    @functools.cached_property
    def references(self) -> tuple[str, ...]:
        return tuple(mail.references(self._block))

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
    """The keys of a message from its header block."""
    return SortData(header)


def sort_data(
    folder: Folder,
    uid: int,
    header: Callable[[], bytes],
    memo: dict[int, SortData] | None = None,
) -> SortData:
    """The message's keys: from ``memo``, else from the cached header fields (``header()``
    loads the whole header block when the cache has none)."""
    if memo is not None:
        found = memo.get(uid)
        if found is not None:
            return found
    data = SortData(headercache.search_fields(folder, uid, header))
    if memo is not None:
        memo[uid] = data
    return data
