"""Dot-stuffing of RETR and TOP on both of its paths: dots looked at one by one (few dots in a
chunk), and the rest of a chunk handed to a regular expression once a chunk holds more dots
than that is worth. Every chunk boundary and every switch point must give the same bytes."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from maa.proto.pop3.encoder import DOT_WALK, MessageEncoder, _stuff


def reference(chunk: bytes) -> bytes:
    """RFC 1939 section 3 said plainly: every dot that starts a line (after an LF) doubled."""
    return chunk.replace(b"\n.", b"\n..")


def encode(message: bytes, cuts: list[int]) -> bytes:
    encoder = MessageEncoder()
    points = sorted({0, len(message), *(c for c in cuts if c <= len(message))})
    out = b"".join(encoder.feed(message[a:b]) for a, b in itertools.pairwise(points))
    return out + encoder.finish()


def expected_wire(message: bytes) -> bytes:
    stuffed = (b"." if message.startswith(b".") else b"") + reference(message)
    end = b"" if not message or message.endswith(b"\n") else b"\r\n"
    return stuffed + end + b".\r\n"


pieces = st.sampled_from([b".", b"..", b"\r\n", b"\r\n.", b"\n", b"x", b"text. more.", b"\r"])


@given(st.lists(pieces, max_size=120))
def test_stuffing_equals_the_plain_rule_whatever_the_dot_count(parts: list[bytes]) -> None:
    chunk = b"".join(parts)
    assert _stuff(chunk) == reference(chunk)


def test_dot_lines_after_the_switch_to_the_expression_are_stuffed() -> None:
    # More dots than the one-by-one walk takes, then dot-led lines only the expression sees.
    prose = b"a. b. c.\r\n" * DOT_WALK
    chunk = b".lead\r\n" + prose + b".after\r\n..\r\n.\r\nend.\r\n.x"
    assert _stuff(chunk) == reference(chunk)
    assert _stuff(chunk).count(b"\n..") == 4


def test_the_switch_on_a_dot_led_line_does_not_stuff_it_twice() -> None:
    for filler in range(DOT_WALK + 3):
        chunk = b"x." * filler + b"\r\n." * (DOT_WALK + 2) + b"\r\n"
        assert _stuff(chunk) == reference(chunk)


def test_a_chunk_without_a_line_led_dot_is_not_copied() -> None:
    for chunk in (b"no dots here\r\n", b"x. y." * DOT_WALK + b"\r\n"):
        assert _stuff(chunk) is chunk


@given(st.lists(pieces, max_size=120), st.lists(st.integers(0, 600), max_size=8))
def test_any_chunking_gives_the_same_wire_bytes(parts: list[bytes], cuts: list[int]) -> None:
    message = b"".join(parts)
    assert encode(message, cuts) == expected_wire(message)
