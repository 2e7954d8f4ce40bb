"""The per-message keys SORT and THREAD compare, each worked out when first asked for.

A message's keys (base subject, first addresses, display names, sent date, Message-ID,
References) come from the fields of its header block that the folder's header cache keeps
(``headercache.search_fields``, filled by the client's first header FETCH or SEARCH), so a
SORT reads no message file once the headers are cached, and a SORT by DATE parses dates only:
working out every key of every message made a first SORT over 10,000 messages cost seconds.
The session view memoises the records, so re-sorting in one session parses nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from maa import mail
from maa.imap import headercache
from maa.mail.addresses import parse_address_list
from maa.mail.rfc2047 import decode_header_value, raw_text
from maa.mail.sortkeys import message_ids
from maa.mail.threads import thread_subject
from maa.storage.interface import Folder

T = TypeVar("T")

if TYPE_CHECKING:
    once = functools.cached_property
else:

    class once(Generic[T]):
        """``functools.cached_property`` without its lock (Python 3.11 takes one on every
        first access, a tenth of a first SORT's time): a session's records are used by
        one thread at a time."""

        def __init__(self, compute: Callable[[Any], T]) -> None:
            self._compute = compute
            self._name = compute.__name__

        def __set_name__(self, owner: type, name: str) -> None:
            self._name = name

        def __get__(self, instance: Any, owner: type | None = None) -> T:
            value = instance.__dict__[self._name] = self._compute(instance)
            return value


_THREAD_FIELDS = ("subject", "message-id", "references", "in-reply-to")


class SortData:
    """The SORT/THREAD keys of one message, from its header block (the first field of each
    name counts), each parsed on first use."""

    def __init__(self, header: bytes) -> None:
        self._header = header
        self._thread_message: mail.ThreadMessage | None = None

    def _value(self, name: str) -> bytes | None:
        return headercache.first_field_value(self._header, name)

    @once
    def subject(self) -> str:
        """The decoded Subject (THREAD wants the reply marks base_subject removes)."""
        return _subject(self._value("subject"))

    @once
    def base_subject(self) -> bytes:
        """The collation key of the base subject (SORT SUBJECT)."""
        return casemap(mail.base_subject(self.subject))

    @once
    def _from(self) -> tuple[str, str]:
        return _address_keys(self._value("from"))

    @once
    def _to(self) -> tuple[str, str]:
        return _address_keys(self._value("to"))

    @once
    def from_(self) -> bytes:
        return casemap(self._from[0])

    @once
    def display_from(self) -> bytes:
        return casemap(self._from[1])

    @once
    def to(self) -> bytes:
        return casemap(self._to[0])

    @once
    def display_to(self) -> bytes:
        return casemap(self._to[1])

    @once
    def cc(self) -> bytes:
        return casemap(_address_keys(self._value("cc"))[0])

    @once
    def sent(self) -> float | None:
        """The Date field as POSIX seconds; None when missing or unparseable."""
        value = self._value("date")
        return None if value is None else mail.date_value(value)

    def _thread_values(self) -> dict[str, bytes]:
        """The first value of each field THREAD reads, from one pass over the block."""
        return headercache.first_values(self._header, _THREAD_FIELDS)

    @once
    def message_id(self) -> str | None:
        return _ids(self._thread_values())[0]

    @once
    def references(self) -> tuple[str, ...]:
        return _ids(self._thread_values())[1]

    def thread_message(self, number: int, internal_date: float) -> mail.ThreadMessage:
        """The message as THREAD takes it, numbered ``number``, kept for the next THREAD (a
        message's keys and dates never change; a sequence number may)."""
        message = self._thread_message
        if message is None:
            values = self._thread_values()
            message_id, references = _ids(values)
            subject = _subject(values.get("subject"))
            message = mail.ThreadMessage(
                id=number,
                message_id=message_id,
                references=references,
                subject=subject,
                date=self.sent_date(internal_date),
                subject_key=thread_subject(subject),
            )
        elif message.id != number:
            message = dataclasses.replace(message, id=number)
        self._thread_message = message
        return message

    def sent_date(self, internal_date: float) -> datetime:
        """RFC 5256 2.2: the sent date, or the internal date when there is none."""
        return datetime.fromtimestamp(self.sent if self.sent is not None else internal_date, UTC)


def _subject(value: bytes | None) -> str:
    return decode_header_value(value) if value else ""


def _ids(values: dict[str, bytes]) -> tuple[str | None, tuple[str, ...]]:
    """(``mail.message_id``, ``mail.references``) of a message's THREAD field values: the
    Message-ID, and the References ids, else In-Reply-To's first."""
    ids = message_ids(values.get("message-id"))
    references = message_ids(values.get("references"))
    if not references:
        references = message_ids(values.get("in-reply-to"))[:1]
    return (ids[0] if ids else None), tuple(references)


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
