"""SMTP smuggling (CVE-2023-51764 and kin): only <CRLF>.<CRLF> ends DATA.

Each payload is a message with a fake end marker followed by a smuggled transaction. The
engine must see ONE message holding the smuggled text, and no second MAIL/RCPT.
"""

from __future__ import annotations

import pytest
from smtp_transcript import Session, reply_codes

from maa.proto.smtp import Dialect
from maa.proto.smtp import events as ev

SMUGGLED = b"MAIL FROM:<admin@x.test>\r\nRCPT TO:<victim@x.test>\r\nDATA\r\nSpoofed\r\n"
FAKE_ENDS = [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r\n.\r", b"\r.\r\n", b"\r\n.\r\r\n"]


@pytest.mark.parametrize("dialect", [Dialect.LMTP, Dialect.SMTP])
@pytest.mark.parametrize("fake_end", FAKE_ENDS, ids=repr)
def test_fake_end_of_data_does_not_end_the_message(fake_end: bytes, dialect: Dialect) -> None:
    hello = b"LHLO c\r\n" if dialect is Dialect.LMTP else b"EHLO c\r\n"
    s = Session(dialect)
    s.send(hello + b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n")
    out = s.send(b"Subject: real\r\n\r\nbody" + fake_end + SMUGGLED + b"\r\n.\r\n")
    assert reply_codes(out) == [250]
    assert len(s.of_type(ev.MailFrom)) == 1
    assert len(s.of_type(ev.RcptTo)) == 1
    assert len(s.messages) == 1
    assert b"MAIL FROM:<admin@x.test>" in s.messages[0]


@pytest.mark.parametrize("fake_end", FAKE_ENDS, ids=repr)
def test_fake_end_split_across_reads(fake_end: bytes) -> None:
    data = b"body" + fake_end + SMUGGLED + b"\r\n.\r\n"
    for cut in range(1, len(data)):
        s = Session()
        s.send(b"LHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n")
        out = s.send(data[:cut]) + s.send(data[cut:])
        assert reply_codes(out) == [250], cut
        assert len(s.of_type(ev.MailFrom)) == 1


def test_bare_lf_lines_are_normalized_and_lone_dots_kept() -> None:
    s = Session()
    s.send(b"LHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n")
    s.send(b"one\ntwo\n.\nthree\r\n.\r\n")
    assert s.messages == [b"one\r\ntwo\r\n.\r\nthree\r\n"]


def test_bare_cr_is_kept_as_content() -> None:
    s = Session()
    s.send(b"LHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n")
    s.send(b"a\r.\rb\r\n.\r\n")
    assert s.messages == [b"a\r.\rb\r\n"]


def test_starttls_discards_pipelined_plaintext() -> None:
    """CVE-2011-0411: commands injected after STARTTLS in the clear must never run."""
    s = Session(Dialect.SMTP, settings_extra={"starttls": True})
    s.send(b"EHLO c\r\n")
    out = s.send(b"STARTTLS\r\nMAIL FROM:<injected@x.test>\r\nRCPT TO:<b@x.test>\r\n")
    assert out == b"220 2.0.0 Ready to start TLS\r\n"
    assert s.of_type(ev.StartTlsRequested)
    assert s.send(b"NOOP\r\n") == b""  # nothing is read until the handshake is done
    s.engine.tls_started()
    assert s.codes(b"MAIL FROM:<a@x.test>\r\n") == [503]  # EHLO again first (RFC 3207)
    assert not s.of_type(ev.MailFrom)
    text = s.send(b"EHLO c\r\n").decode()
    assert "STARTTLS" not in text
    assert s.codes(b"STARTTLS\r\n") == [503]
