"""The framer: lines, synchronising and LITERAL+ literals, limits, STARTTLS discard."""

from __future__ import annotations

from maa.proto.imap import limits
from maa.proto.imap.framing import Framer, Line, Literal, NeedContinuation, RawCommand, Rejected


def events(framer: Framer) -> list[object]:
    out = []
    while (event := framer.next_event()) is not None:
        out.append(event)
    return out


def test_plain_line_is_one_segment() -> None:
    f = Framer()
    f.feed(b"a1 NOOP\r\n")
    assert events(f) == [RawCommand((b"a1 NOOP",))]


def test_bare_lf_is_accepted() -> None:
    f = Framer()
    f.feed(b"a1 NOOP\n")
    assert events(f) == [RawCommand((b"a1 NOOP",))]


def test_command_split_over_many_reads() -> None:
    f = Framer()
    for byte in b"a1 LOGIN alice secret\r\n":
        f.feed(bytes([byte]))
    assert events(f) == [RawCommand((b"a1 LOGIN alice secret",))]


def test_synchronising_literal_asks_for_continuation() -> None:
    f = Framer()
    f.feed(b"a1 LOGIN {5}\r\n")
    assert events(f) == [NeedContinuation()]
    f.feed(b"alice secret\r\n")
    assert events(f) == [RawCommand((b"a1 LOGIN ", Literal(b"alice", 5), b" secret"))]


def test_literal_plus_needs_no_continuation() -> None:
    f = Framer()
    f.feed(b"a1 LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n")
    assert events(f) == [
        RawCommand((b"a1 LOGIN ", Literal(b"alice", 5), b" ", Literal(b"secret", 6), b""))
    ]


def test_literal_may_contain_crlf_and_braces() -> None:
    f = Framer()
    f.feed(b"a1 LOGIN {7+}\r\n{3}\r\nab x\r\n")
    [raw] = events(f)
    assert isinstance(raw, RawCommand)
    assert raw.segments[1] == Literal(b"{3}\r\nab", 7)


def test_append_literal_is_spooled_to_a_file() -> None:
    f = Framer()
    f.feed(b"a1 APPEND INBOX {11+}\r\nhello world\r\n")
    [raw] = events(f)
    assert isinstance(raw, RawCommand)
    literal = raw.segments[1]
    assert isinstance(literal, Literal)
    assert not isinstance(literal.data, bytes)
    assert literal.read_all() == b"hello world"


def test_oversized_synchronising_literal_is_refused_without_reading_it() -> None:
    f = Framer()
    f.feed(b"a1 LOGIN {%d}\r\n" % (limits.MAX_SMALL_LITERAL + 1))
    assert events(f) == [Rejected("a1", "Literal too large")]
    f.feed(b"a2 NOOP\r\n")
    assert events(f) == [RawCommand((b"a2 NOOP",))]


def test_oversized_append_literal_respects_max_append() -> None:
    f = Framer(max_append=100_000)
    f.authenticated = True
    f.feed(b"a1 APPEND INBOX {100000}\r\n")
    assert events(f) == [NeedContinuation()]
    f.discard_buffered()
    f.feed(b"a1 APPEND INBOX {100001}\r\n")
    assert events(f) == [Rejected("a1", "Literal too large")]


def test_large_literal_before_login_is_refused() -> None:
    """Regression: no client may make us spool a large APPEND before it has logged in."""
    f = Framer(max_append=50 * 1024 * 1024)
    f.feed(b"a1 APPEND INBOX {%d}\r\n" % (limits.MAX_UNAUTHENTICATED_LITERAL + 1))
    assert events(f) == [Rejected("a1", "Literal too large")]
    f.feed(b"a2 APPEND INBOX {%d+}\r\n" % (limits.MAX_UNAUTHENTICATED_LITERAL + 1))
    assert events(f) == [Rejected("a2", "Literal too large", fatal=True)]


def test_oversized_literal_plus_is_fatal() -> None:
    f = Framer()
    f.feed(b"a1 LOGIN {%d+}\r\n" % (limits.MAX_SMALL_LITERAL + 1))
    assert events(f) == [Rejected("a1", "Literal too large", fatal=True)]


def test_too_long_line_is_rejected_and_skipped() -> None:
    f = Framer()
    f.feed(b"a1 NOOP " + b"x" * (limits.MAX_LINE + 10))
    assert events(f) == [Rejected("a1", "Command line too long")]
    f.feed(b"yyyy\r\na2 NOOP\r\n")
    assert events(f) == [RawCommand((b"a2 NOOP",))]


def test_line_mode_returns_raw_lines() -> None:
    f = Framer()
    f.line_mode = True
    f.feed(b"DONE\r\n")
    assert events(f) == [Line(b"DONE")]


def test_discard_buffered_drops_pipelined_bytes() -> None:
    """STARTTLS: bytes behind the command must never be read as if they came over TLS."""
    f = Framer()
    f.feed(b"a1 STARTTLS\r\na2 LOGIN evil {3}\r\n")
    assert f.next_event() == RawCommand((b"a1 STARTTLS",))
    f.discard_buffered()
    assert f.buffered == 0
    assert f.next_event() is None
