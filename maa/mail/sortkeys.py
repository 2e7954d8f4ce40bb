"""SORT and THREAD keys: RFC 5256 base subject, message ids and references, RFC 5256/5957
address keys."""

from __future__ import annotations

import re
from typing import Literal

from maa.mail.addresses import Address, parse_address_list
from maa.mail.headers import first_raw_value
from maa.mail.rfc2047 import decode_header_value, raw_text

AddressField = Literal["from", "to", "cc"]

_WHITESPACE = re.compile(r"[ \t\r\n]+")
_BLOB = r"\[[^\[\]]*\][ \t]*"
_TRAILER = re.compile(r"(?:\(fwd\)|[ \t])$", re.IGNORECASE)
_LEADER = re.compile(rf"^(?:(?:{_BLOB})*(?:re|fwd?)[ \t]*(?:{_BLOB})?:|[ \t])", re.IGNORECASE)
_LEADING_BLOB = re.compile(rf"^{_BLOB}")
_MSG_ID = re.compile(rb"<([^<>@]+@[^<>]+)>")


def base_subject(subject: str) -> str:
    """The base subject of RFC 5256 section 2.1, steps 1 to 7.

    Encoded-words are decoded, white space squeezed, then ``Re:``/``Fwd:``/``Fw:`` leaders
    (with any ``[blob]`` around them), leading ``[blob]`` prefixes, trailing ``(fwd)`` and a
    ``[fwd: ...]`` wrapper are removed until none is left. Case is kept: compare the results
    with :func:`collation_key` (the i;ascii-casemap collation of RFC 5256).
    """
    return subject_info(subject)[0]


def subject_info(subject: str) -> tuple[str, bool]:
    """(base subject, whether it is a reply or forward): the latter when a ``Re:``/``Fwd:``
    leader, a ``(fwd)`` trailer or a ``[fwd: ]`` wrapper was removed (RFC 5256 THREAD)."""
    if "=?" in subject:
        subject = decode_header_value(subject.encode("utf-8", "surrogateescape"))
    text = _WHITESPACE.sub(" ", subject)  # step 1
    if ":" not in text and "[" not in text and not text.startswith(" ") and text[-1:] not in " )":
        return text, False  # no leader, blob, trailer or wrapper to remove (most subjects)
    return _subject_info_steps(text)


def _subject_info_steps(text: str) -> tuple[str, bool]:
    """Steps 2 to 6 of ``subject_info``."""
    reply = False
    while True:
        while True:  # step 2
            match = _TRAILER.search(text)
            if match is None:
                break
            reply = reply or match.group() not in (" ", "\t")
            text = text[: match.start()]
        while True:  # steps 3 to 5
            before = text
            while True:  # step 3
                match = _LEADER.match(text)
                if match is None or not match.group():
                    break
                reply = reply or match.group() not in (" ", "\t")
                text = text[match.end() :]
            match = _LEADING_BLOB.match(text)  # step 4
            if match is not None and text[match.end() :].strip(" \t"):
                text = text[match.end() :]
            if text == before:
                break
        # step 6
        if text[:5].lower() == "[fwd:" and text.endswith("]"):
            text = text[5:-1]
            reply = True
            continue
        return text, reply


def collation_key(text: str) -> bytes:
    """The i;ascii-casemap sort key of RFC 4790 that SORT and THREAD compare with: octets
    of the UTF-8 form with ASCII letters upper-cased."""
    return text.encode("utf-8", "surrogateescape").upper()


def message_ids(value: bytes | None) -> list[str]:
    """The msg-ids in a field's (unfolded) value, with their angle brackets, blanks inside
    them removed."""
    if value is None:
        return []
    single = _ONE_MSG_ID.match(value)
    if single is not None:  # one id, nothing else (Message-ID, In-Reply-To)
        return ["<" + raw_text(single.group(1)) + ">"]
    return _all_message_ids(value)


def _all_message_ids(value: bytes) -> list[str]:
    return [
        "<" + raw_text(_WHITESPACE_BYTES.sub(b"", match.group(1))) + ">"
        for match in _MSG_ID.finditer(value)
    ]


# A value of one msg-id with no blanks inside, blanks around at most: what ``_MSG_ID`` finds
# there, by one match.
_ONE_MSG_ID = re.compile(rb"[ \t\r\n]*<([^<>@ \t\r\n]+@[^<> \t\r\n]+)>[ \t\r\n]*\Z")


_WHITESPACE_BYTES = re.compile(rb"[ \t\r\n]+")


def message_id(raw_headers: bytes) -> str | None:
    """The first Message-ID's msg-id, with its angle brackets (``<id@host>``), or None
    when there is no valid one."""
    ids = message_ids(first_raw_value(raw_headers, "message-id"))
    return ids[0] if ids else None


def references(raw_headers: bytes) -> list[str]:
    """The msg-ids of References in order; without a valid one, the first msg-id of
    In-Reply-To (RFC 5256 REFERENCES threading, step 1). Same form as :func:`message_id`."""
    ids = message_ids(first_raw_value(raw_headers, "references"))
    if ids:
        return ids
    return message_ids(first_raw_value(raw_headers, "in-reply-to"))[:1]


def _first_address(raw_headers: bytes, field: str) -> Address | None:
    value = first_raw_value(raw_headers, field)
    if value is None:
        return None
    for address in parse_address_list(value):
        if address.mailbox is not None:  # an address, or the start of a group
            return address
    return None


def sort_address(raw_headers: bytes, field: AddressField) -> str:
    """SORT FROM/TO/CC key: the addr-mailbox of the field's first ENVELOPE address (RFC 5256
    section 3) — the local part, or the group name when the field starts with a group, as
    in Dovecot — or ``""`` when there is none."""
    address = _first_address(raw_headers, field)
    return "" if address is None or address.mailbox is None else raw_text(address.mailbox)


def display_name(raw_headers: bytes, field: AddressField = "from") -> str:
    """SORT DISPLAYFROM/DISPLAYTO key (RFC 5957): the decoded display name of the first
    address, else its ``mailbox@host``; a group's name when the field starts with a group;
    else ``""``."""
    address = _first_address(raw_headers, field)
    if address is None:
        return ""
    if address.is_group_start and address.mailbox is not None:
        return decode_header_value(address.mailbox)
    if address.name:
        name = decode_header_value(address.name).strip()
        if name:
            return name
    return raw_text(address.addr_spec)
