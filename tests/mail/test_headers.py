"""Header blocks: reading only the header, HEADER.FIELDS subsets, first_header."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from maa.mail import first_header, header_block, header_fields
from maa.mail.headers import _general_field_value, field_value

from .corpus import HEADER_ONLY, MIXED, SIMPLE


def test_header_block_of_bytes_ends_with_the_blank_line() -> None:
    assert header_block(SIMPLE) == SIMPLE[: SIMPLE.index(b"\r\n\r\n") + 4]
    assert header_block(HEADER_ONLY) == HEADER_ONLY
    assert header_block(b"\r\nbody") == b"\r\n"
    assert header_block(b"") == b""


def test_header_block_of_a_stream_reads_no_further_than_the_header() -> None:
    stream = io.BytesIO(SIMPLE)
    header = header_block(stream)
    assert header == header_block(SIMPLE)
    assert stream.tell() == len(header)
    assert stream.read() == b"body\r\n"


def test_header_fields_keep_continuation_lines_byte_for_byte() -> None:
    assert header_fields(MIXED, ["subject"]) == (
        b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= with\r\n\tattachments\r\n\r\n"
    )


def test_header_fields_match_names_case_insensitively_in_header_order() -> None:
    assert header_fields(SIMPLE, ["SUBJECT", "from", "X-Absent"]) == (
        b"From: Alice <alice@example.test>\r\nSubject: hi\r\n\r\n"
    )


def test_header_fields_not_and_no_match() -> None:
    assert header_fields(SIMPLE, ["From", "To", "Date", "Message-ID"], exclude=True) == (
        b"Subject: hi\r\n\r\n"
    )
    assert header_fields(SIMPLE, ["X-Absent"]) == b"\r\n"


def test_header_fields_stop_at_the_blank_line() -> None:
    raw = b"Subject: head\r\n\r\nSubject: body line\r\n"
    assert header_fields(raw, ["subject"]) == b"Subject: head\r\n\r\n"


def test_header_fields_tolerate_space_before_colon_and_no_final_line_end() -> None:
    raw = b"Subject : spaced\r\nX-Last: no newline"
    assert header_fields(raw, ["subject"]) == b"Subject : spaced\r\n\r\n"
    assert header_fields(raw, ["x-last"]) == b"X-Last: no newline\r\n"  # as Dovecot
    assert header_fields(raw, ["x-last"], exclude=True) == b"Subject : spaced\r\n"


def test_first_header_is_unfolded_and_undecoded() -> None:
    assert first_header(MIXED, "Subject") == "=?utf-8?q?Gr=C3=BC=C3=9Fe?= with\tattachments"
    assert first_header(MIXED, "message-id") == "<mixed.2@example.test>"
    assert first_header(MIXED, "X-Absent") is None
    assert first_header(b"Subject:\r\n\r\n", "subject") == ""


_VALUE_BYTES = st.sampled_from(
    [b"a", b"Z", b" ", b"\t", b"\r", b"\n", b":", b"\x00", b"=?", b"\xc3\xa9"]
)


@given(
    st.sampled_from([b"Subject", b"X", b"Sub ject", b"", b" To"]),
    st.lists(_VALUE_BYTES, max_size=12).map(b"".join),
    st.booleans(),
)
def test_field_value_one_line_match_is_the_general_value(
    name: bytes, rest: bytes, unfold: bool
) -> None:
    field = name + b":" + rest
    assert field_value(field, unfold=unfold) == _general_field_value(field, unfold=unfold)
    assert field_value(rest, unfold=unfold) == _general_field_value(rest, unfold=unfold)
