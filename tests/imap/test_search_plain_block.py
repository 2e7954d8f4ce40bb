"""SEARCH rules a message out by its lower-cased header block only when no decoded value of
any field in it could hold an ASCII needle: every such value is within that block."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from maa.imap.headercache import field_values, fields_block
from maa.imap.search import _plain_block
from maa.mail.rfc2047 import decode_header_value

_PIECES = st.sampled_from(
    [
        *(b"Subject", b"subject ", b"X-A", b":", b" ", b"\t", b"a", b"B", b"\r\n", b"\n"),
        *(b"\r", b"\r\n ", b"\r\n\t", b"=?", b"?=", b"\x00", b"\xc3\xa9", b"=?utf-8?q?x=41?="),
    ]
)


@given(st.lists(_PIECES, max_size=24).map(b"".join), st.sampled_from(["Subject", "X-A"]))
def test_plain_block_holds_every_folded_value(raw: bytes, name: str) -> None:
    block = fields_block(raw + b"\r\n\r\n", ("Subject", "X-A"))
    plain = _plain_block(block)
    if plain is None:
        return
    for value in field_values(block, name):
        # A NUL reads as U+FFFD, which no ASCII needle holds: each run between is in it.
        for run in decode_header_value(value).casefold().split("\ufffd"):
            assert run.isascii() and run.encode("ascii") in plain
