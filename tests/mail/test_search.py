"""SEARCH support: decoded headers, addresses, dates, body text and the match itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from maa.mail import (
    MessageParts,
    addresses,
    contains,
    date_value,
    decoded_header,
    header_block,
    header_date,
    search_text,
)

from .corpus import EIGHT_BIT_HEADERS, GROUPS, MIXED, ODD_HEADERS, RFC822_ATTACHMENT, crlf


def test_decoded_header_decodes_encoded_words_and_unfolds() -> None:
    assert decoded_header(header_block(MIXED), "subject") == ["Grüße with\tattachments"]


def test_decoded_header_reads_raw_utf8_and_latin1() -> None:
    assert decoded_header(EIGHT_BIT_HEADERS, "From") == ["Jörg Müller <joerg@example.test>"]
    assert decoded_header(b"Subject: caf\xe9\r\n\r\n", "Subject") == ["café"]


def test_decoded_header_lists_every_occurrence_in_order() -> None:
    assert decoded_header(ODD_HEADERS, "SUBJECT") == ["first subject   ", "second subject"]
    assert decoded_header(ODD_HEADERS, "X-Absent") == []


def test_decoded_header_joins_adjacent_encoded_words() -> None:
    raw = b"Subject: =?utf-8?q?a?= =?utf-8?b?w6k=?=  and =?iso-8859-1?q?caf=E9?=\r\n\r\n"
    assert decoded_header(raw, "subject") == ["aé  and café"]


def test_decoded_header_survives_broken_encoded_words() -> None:
    raw = b"Subject: =?no-such-charset?q?x=FF?= =?utf-8?b?####?= =?utf-8?q?\r\n\r\n"
    (value,) = decoded_header(raw, "subject")
    assert value.startswith("x")


def test_addresses_give_names_and_addr_specs() -> None:
    assert addresses(MIXED, "to") == ["alice@example.test", "Bob Smith <bob@example.test>"]
    assert addresses(MIXED, "cc") == [
        "carol@example.test",
        "Dave D. <dave@example.test>",
    ]


def test_addresses_leave_out_group_markers_and_decode_names() -> None:
    assert addresses(GROUPS, "to") == []
    assert addresses(GROUPS, "cc") == [
        "a@example.test",
        "B <b@example.test>",
        "outside@example.test",
    ]
    raw = b"From: =?utf-8?q?J=C3=B6rg?= <j@example.test>\r\n\r\n"
    assert addresses(raw, "from") == ["Jörg <j@example.test>"]


def test_header_date_parses_rfc5322_dates() -> None:
    when = header_date(MIXED)
    assert when == datetime(2026, 11, 24, 8, 15, tzinfo=timezone(timedelta(hours=-5)))


def test_header_date_reads_minus_zero_as_utc_and_garbage_as_none() -> None:
    assert header_date(b"Date: 1 Jan 2020 00:00:00 -0000\r\n\r\n") == datetime(
        2020, 1, 1, tzinfo=UTC
    )
    assert header_date(b"Date: yesterday, more or less\r\n\r\n") is None
    assert header_date(b"Date: Mon, 99 Zzz 99999 99:99:99 +9999\r\n\r\n") is None
    assert header_date(b"Subject: no date\r\n\r\n") is None


def _read_by_email_utils(value: bytes) -> float | None:
    when = header_date(b"Date: " + value + b"\r\n\r\n")
    return None if when is None else when.timestamp()


common_dates = st.builds(
    lambda wd, d, m, y, hh, mm, ss, sign, zh, zm, tail: (
        f"{wd}{d} {m} {y:04d} {hh:02d}:{mm:02d}:{ss:02d} {sign}{zh:02d}{zm:02d}{tail}".encode()
    ),
    st.sampled_from(["", "Tue, ", "Sat,"]),
    st.integers(0, 32),
    st.sampled_from(["Jan", "feb", "MAR", "Jun", "Dec", "Foo"]),
    st.integers(0, 9999),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
    st.sampled_from(["+", "-"]),
    st.integers(0, 99),
    st.integers(0, 99),
    st.sampled_from(["", " ", " (CET)", "  (UTC) "]),
)


@given(common_dates | st.binary(max_size=40))
def test_date_value_reads_dates_as_email_utils_does(value: bytes) -> None:
    assert date_value(value) == _read_by_email_utils(value)


def test_contains_is_a_case_insensitive_substring_match() -> None:
    assert contains("Grüße aus Köln", "KÖLN")
    assert contains("Die Straße", "STRASSE")
    assert contains("anything", "")
    assert not contains("hello", "help")


def test_search_text_decodes_quoted_printable_base64_and_charsets() -> None:
    raw = crlf(
        "Content-Type: multipart/mixed; boundary=b\n"
        "\n"
        "--b\n"
        "Content-Type: text/plain; charset=iso-8859-1\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "caf=E9 cr=E8me=\n"
        " br=FBl=E9e\n"
        "--b\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "R3LDvMOfZQ==\n"
        "--b\n"
        "Content-Type: application/octet-stream\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "c2VjcmV0IGJpbmFyeQ==\n"
        "--b--\n"
    )
    text = search_text(raw, MessageParts.parse(raw))
    assert "café crème brûlée" in text
    assert "Grüße" in text
    assert "secret binary" not in text


def test_search_text_includes_html_and_embedded_messages() -> None:
    text = search_text(RFC822_ATTACHMENT, MessageParts.parse(RFC822_ATTACHMENT))
    assert "See attached." in text
    assert "plain version" in text
    assert "<p>html version</p>" in text


def test_search_text_is_lossy_on_bad_input() -> None:
    raw = crlf(
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "!!!not base64 at all, with = signs=\n"
    )
    assert isinstance(search_text(raw, MessageParts.parse(raw)), str)
    raw = b"Content-Type: text/plain; charset=utf-8\r\n\r\nbad \xff byte\r\n"
    assert search_text(raw, MessageParts.parse(raw)) == "bad \ufffd byte\r\n"
