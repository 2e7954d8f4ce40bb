"""MessageEncoder: dot-stuffing and TOP cutting, whatever the chunk boundaries."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from maa.proto.pop3.encoder import MessageEncoder


def encode(message: bytes, cuts: list[int] | None = None, body_lines: int | None = None) -> bytes:
    encoder = MessageEncoder(body_lines)
    points = sorted({0, len(message), *(cuts or [])})
    out = b""
    for start, end in itertools.pairwise(points):
        out += encoder.feed(message[start:end])
        if encoder.done:
            break
    return out + encoder.finish()


def unstuff(wire: bytes) -> bytes:
    """What a client makes of the multi-line reply body (RFC 1939 section 3)."""
    assert wire.endswith(b"\r\n.\r\n") or wire == b".\r\n"
    lines = wire[: -len(b".\r\n")].split(b"\r\n")
    return b"\r\n".join(line[1:] if line.startswith(b".") else line for line in lines)


def test_lines_starting_with_a_dot_are_doubled() -> None:
    message = b"Subject: x\r\n\r\n.\r\n..two\r\n.three\r\nend\r\n"
    assert encode(message) == b"Subject: x\r\n\r\n..\r\n...two\r\n..three\r\nend\r\n.\r\n"


def test_a_dot_line_split_at_every_point_is_stuffed_the_same() -> None:
    message = b"A: b\r\n\r\nbody\r\n.\r\n...\r\nx\r\n"
    whole = encode(message)
    for cut in range(len(message) + 1):
        assert encode(message, [cut]) == whole


def test_a_message_starting_with_a_dot_is_stuffed() -> None:
    assert encode(b".hidden\r\n") == b"..hidden\r\n.\r\n"
    assert encode(b".hidden\r\n", [1]) == b"..hidden\r\n.\r\n"


def test_a_message_without_a_final_crlf_gets_one() -> None:
    assert encode(b"A: b\r\n\r\nno end") == b"A: b\r\n\r\nno end\r\n.\r\n"


def test_an_empty_message_is_just_the_terminator() -> None:
    assert encode(b"") == b".\r\n"


def test_top_sends_headers_blank_line_and_n_body_lines() -> None:
    message = b"A: 1\r\nB: 2\r\n\r\nl1\r\n.l2\r\nl3\r\n"
    assert encode(message, body_lines=0) == b"A: 1\r\nB: 2\r\n\r\n.\r\n"
    assert encode(message, body_lines=2) == b"A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n.\r\n"
    assert encode(message, body_lines=10) == encode(message)


def test_top_finds_the_blank_line_across_chunks() -> None:
    message = b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n"
    for cut in range(len(message) + 1):
        assert encode(message, [cut], body_lines=1) == b"A: 1\r\nB: 2\r\n\r\nl1\r\n.\r\n"


def test_top_of_a_message_without_a_body_sends_it_all() -> None:
    assert encode(b"A: 1\r\nB: 2\r\n", body_lines=0) == b"A: 1\r\nB: 2\r\n.\r\n"


def test_top_stops_reading_once_it_has_its_lines() -> None:
    encoder = MessageEncoder(1)
    encoder.feed(b"A: 1\r\n\r\nfirst\r\nsecond\r\n")
    assert encoder.done
    assert encoder.feed(b"more\r\n") == b""


crlf_lines = st.lists(
    st.sampled_from([b"", b".", b"..", b".x", b"x.", b"A: b", b"\r", b"text . text"]),
    max_size=30,
)


@given(crlf_lines, st.lists(st.integers(0, 400), max_size=6))
def test_any_chunking_round_trips_byte_exact(lines: list[bytes], cuts: list[int]) -> None:
    message = b"".join(line + b"\r\n" for line in lines)
    wire = encode(message, cuts)
    assert wire == encode(message)
    assert unstuff(wire) == message
    # No line of the body can be taken for the terminator.
    assert not wire.startswith(b".\r\n") or wire == b".\r\n"
    assert wire.find(b"\r\n.\r\n") in (-1, len(wire) - 5)


@given(crlf_lines, st.integers(0, 40), st.lists(st.integers(0, 400), max_size=6))
def test_top_of_any_message_is_a_prefix_of_retr(
    lines: list[bytes], count: int, cuts: list[int]
) -> None:
    message = b"".join(line + b"\r\n" for line in lines)
    top = encode(message, cuts, body_lines=count)
    retr = encode(message)
    assert top == encode(message, body_lines=count)
    assert retr.startswith(top[:-3])


def test_a_header_line_of_one_cr_split_before_its_crlf_is_not_the_blank_line() -> None:
    # "\r" then CR LF: a header line holding a CR, not the end of the headers; cut after the
    # first CR, TOP took the second chunk's CR LF for the blank line.
    message = b"\r\r\n\r\nbody\r\n"
    assert encode(message, [1], body_lines=0) == encode(message, body_lines=0)
    assert encode(message, body_lines=0) == b"\r\r\n\r\n.\r\n"
