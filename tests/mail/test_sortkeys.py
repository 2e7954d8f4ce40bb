"""SORT/THREAD keys: RFC 5256 base subject, message ids, references, address keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maa.mail import base_subject, display_name, message_id, references, sort_address
from maa.mail.sortkeys import (
    _WHITESPACE,
    _all_message_ids,
    _subject_info_steps,
    message_ids,
    subject_info,
)

from .corpus import GROUPS, MIXED, SIMPLE, crlf

BASE_SUBJECTS = [
    ("hello", "hello"),
    ("Re: hello", "hello"),
    ("RE: re: Re: hello", "hello"),
    ("Fwd: hello", "hello"),
    ("fw: hello", "hello"),
    ("Re[2]: hello", "hello"),
    ("Re [2]: hello", "hello"),
    ("Re: [list] hello", "hello"),
    ("[list] Re: hello", "hello"),
    ("[a] [b] Re: [c] hello", "hello"),
    ("hello (fwd)", "hello"),
    ("hello (FWD) (fwd)  ", "hello"),
    ("[fwd: hello]", "hello"),
    ("[Fwd: Re: [list] hello (fwd)]", "hello"),
    ("Re: [fwd: Re: hello]", "hello"),
    ("[blob]", "[blob]"),  # removing the blob would leave nothing: it stays
    ("Re: [blob]", "[blob]"),
    ("Re:", ""),
    ("", ""),
    ("  hello \t  world  ", "hello world"),
    ("Ref: not a reply", "Ref: not a reply"),
    ("Really: not a reply", "Really: not a reply"),
    ("=?utf-8?q?Re=3A_caf=C3=A9?=", "café"),
]


@pytest.mark.parametrize(("subject", "expected"), BASE_SUBJECTS)
def test_base_subject_follows_rfc5256(subject: str, expected: str) -> None:
    assert base_subject(subject) == expected


def test_message_id_is_the_first_valid_msg_id() -> None:
    assert message_id(SIMPLE) == "<simple.1@example.test>"
    assert message_id(b"Message-ID:\r\n <folded@\r\n example.test>\r\n\r\n") == (
        "<folded@example.test>"
    )
    assert message_id(b"Message-ID: no angle brackets\r\n\r\n") is None
    assert message_id(b"Subject: none\r\n\r\n") is None


def test_references_prefer_references_then_first_in_reply_to() -> None:
    assert references(MIXED) == ["<root.0@example.test>", "<simple.1@example.test>"]
    raw = b"In-Reply-To: <a@x> <b@x>\r\nReferences: garbage\r\n\r\n"
    assert references(raw) == ["<a@x>"]
    assert references(b"Subject: x\r\n\r\n") == []


def test_sort_address_is_the_first_mailbox_local_part() -> None:
    assert sort_address(MIXED, "from") == "john"
    assert sort_address(MIXED, "to") == "alice"
    assert sort_address(MIXED, "cc") == "team"  # a group comes first as its name (Dovecot)
    assert sort_address(GROUPS, "to") == "undisclosed-recipients"
    assert sort_address(SIMPLE, "cc") == ""


def test_display_name_prefers_the_decoded_name_then_the_address() -> None:
    assert display_name(MIXED, "from") == "Doe, John"
    assert display_name(MIXED, "to") == "alice@example.test"
    raw = crlf('From: =?utf-8?q?J=C3=B6rg?= <j@example.test>\nTo: "" <t@example.test>\n\n')
    assert display_name(raw) == "Jörg"
    assert display_name(raw, "to") == "t@example.test"
    assert display_name(raw, "cc") == ""
    assert display_name(MIXED, "cc") == "team"


@given(st.text("ab :[]()\t\nReFwd", max_size=16))
def test_subject_info_shortcut_is_the_rfc5256_steps(subject: str) -> None:
    assert subject_info(subject) == _subject_info_steps(_WHITESPACE.sub(" ", subject))


@given(
    st.lists(st.sampled_from(["<", ">", "@", " ", "\t", "\r\n", "a", "b.c", "\xe9"]), max_size=10)
)
def test_message_ids_shortcut_finds_what_the_general_reading_does(pieces: list[str]) -> None:
    value = "".join(pieces).encode()
    assert message_ids(value) == _all_message_ids(value)
