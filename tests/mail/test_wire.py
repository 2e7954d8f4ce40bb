"""IMAP string output (quoted, literal, NIL, for humans) and ENVELOPE injection attempts."""

from __future__ import annotations

import pytest

from maa.mail import envelope
from maa.mail.wire import for_humans, nstring, string

from .imapsyntax import Value, parse


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (b"", b'""'),
        (b"NIL", b'"NIL"'),
        (b'"America N.", "America S."', b'"\\"America N.\\", \\"America S.\\""'),
        (b'"a", "b", "c"', b'{13}\r\n"a", "b", "c"'),  # more than four escapes
        (b"Antarctica\n Australia", b"{21}\r\nAntarctica\n Australia"),
        (b"caf\xc3\xa9", b"{5}\r\ncaf\xc3\xa9"),
    ],
)
def test_string_quotes_or_uses_a_literal_like_dovecot(value: bytes, wire: bytes) -> None:
    assert string(value) == wire
    assert parse(wire) == value


def test_nstring_of_none_is_nil() -> None:
    assert nstring(None) == b"NIL"


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (b"", b'""'),
        (b" \t ", b'""'),
        (b" foo  \t  \t", b"{3}\r\nfoo"),
        (b"hello\r\n  world", b"{11}\r\nhello world"),
        (b'hello"world', b'{11}\r\nhello"world'),
        (b"hello\x00world", b"{11}\r\nhello\x80world"),
        (b"plain words", b'"plain words"'),
    ],
)
def test_for_humans_matches_dovecot(value: bytes, wire: bytes) -> None:
    assert for_humans(value) == wire


def _envelope_of(headers: bytes) -> list[Value]:
    value = parse(envelope(headers))
    assert isinstance(value, list)
    assert len(value) == 10
    return value


def test_envelope_subject_cannot_inject_imap_syntax() -> None:
    subject = b'x" NIL) BODY[] {5}\\ (("evil'
    fields = _envelope_of(b"Subject: " + subject + b"\r\n\r\n")
    assert fields[1] == subject


def test_envelope_message_id_with_quotes_cannot_inject_imap_syntax() -> None:
    value = b'<"a"b"c"d"e"@x>) UID 1 ("'
    fields = _envelope_of(b"Message-ID: " + value + b"\r\n\r\n")
    assert fields[9] == value


def test_envelope_literal_length_counts_bytes_not_characters() -> None:
    fields = _envelope_of("Subject: Grüße 🎉\r\n\r\n".encode())
    assert fields[1] == "Grüße 🎉".encode()


def test_envelope_display_name_with_crlf_and_nul_stays_one_value() -> None:
    fields = _envelope_of(b'From: "a\x00b\r\n c" <u@example.test>\r\n\r\n')
    from_list = fields[2]
    assert isinstance(from_list, list)
    assert from_list[0] == ["a\ufffdb c".encode(), None, b"u", b"example.test"]


def test_envelope_of_no_header_is_all_nil() -> None:
    assert envelope(b"") == b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
    assert envelope(b"\r\nFrom: body@example.test\r\n") == (
        b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
    )
