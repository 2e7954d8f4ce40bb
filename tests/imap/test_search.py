"""SEARCH keys through imaplib: flags, sets, dates, sizes, decoded header and body text."""

from __future__ import annotations

import imaplib
import time

import pytest_twisted
from clients import MESSAGE, MULTIPART, login, ok
from twisted.internet import threads

OLD_DATE = imaplib.Time2Internaldate(time.mktime((2020, 1, 15, 12, 0, 0, 0, 0, -1)))


def search(m: imaplib.IMAP4, *criteria: str, charset: str | None = None) -> list[int]:
    data = ok(m.search(charset, *criteria))
    return [int(n) for n in data[0].split()]  # type: ignore[union-attr]


@pytest_twisted.inlineCallbacks
def test_search_keys(imap_port: int) -> None:
    def client() -> None:
        m = login(imap_port)
        ok(m.append("INBOX", "(\\Seen \\Flagged)", OLD_DATE, MESSAGE))  # 1
        ok(m.append("INBOX", "($Junk)", None, MULTIPART))  # 2
        big = b"Subject: x\r\n\r\nbig" + b"y" * 5000
        ok(m.append("INBOX", "(\\Deleted \\Answered \\Draft)", None, big))  # 3
        ok(m.select("INBOX"))
        assert search(m, "ALL") == [1, 2, 3]
        assert search(m, "SEEN") == [1] and search(m, "UNSEEN") == [2, 3]
        assert search(m, "FLAGGED") == [1] and search(m, "UNFLAGGED") == [2, 3]
        assert search(m, "DELETED") == [3] and search(m, "UNDELETED") == [1, 2]
        assert search(m, "ANSWERED") == [3] and search(m, "UNANSWERED") == [1, 2]
        assert search(m, "DRAFT") == [3] and search(m, "UNDRAFT") == [1, 2]
        assert search(m, "KEYWORD", "$Junk") == [2] and search(m, "UNKEYWORD", "$Junk") == [1, 3]
        assert search(m, "RECENT") == [1, 2, 3] and search(m, "NEW") == [2, 3]
        assert search(m, "OLD") == []
        assert search(m, "2:*") == [2, 3] and search(m, "UID", "1,3") == [1, 3]
        assert search(m, "*") == [3]
        assert search(m, "LARGER", "1000") == [3] and search(m, "SMALLER", "1000") == [1, 2]
        assert search(m, "BEFORE", "1-Jan-2021") == [1]
        assert search(m, "ON", "15-Jan-2020") == [1]
        assert search(m, "SINCE", "1-Jan-2021") == [2, 3]
        assert search(m, "SENTON", "5-Mar-2024") == [1]
        assert search(m, "SENTBEFORE", "1-Jan-2000") == []
        assert search(m, "SENTSINCE", "1-Jan-2024") == [1]
        assert search(m, "FROM", "bob@example.test") == [1]
        assert search(m, "FROM", '"Bob Example"') == [1]
        assert search(m, "TO", "alice") == [1, 2]
        assert search(m, "CC", "carol") == [1]
        assert search(m, "BCC", "nobody") == []
        assert search(m, "SUBJECT", "parts") == [2]
        assert search(m, "HEADER", "X-Tag", "BLUE") == [1]
        assert search(m, "HEADER", "X-Tag", '""') == [1]
        assert search(m, "BODY", "zebra") == [2]
        assert search(m, "BODY", "Subject") == []
        assert search(m, "TEXT", "Subject") == [1, 2, 3]
        assert search(m, "TEXT", '"QUICK BROWN"') == [1]
        assert search(m, "OR", "SEEN", "KEYWORD", "$Junk") == [1, 2]
        assert search(m, "NOT", "SEEN") == [2, 3]
        assert search(m, "NOT", "(SEEN FLAGGED)", "NOT", "DELETED") == [2]
        assert search(m, "OR", "(FROM bob SEEN)", "(OR DRAFT LARGER 99999)") == [1, 3]
        data = ok(m.uid("SEARCH", "SUBJECT", "parts"))
        assert data == [b"2"]
        m.logout()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_search_decoded_utf8_subject(imap_port: int) -> None:
    def client() -> None:
        m = login(imap_port)
        ok(m.append("INBOX", None, None, MESSAGE))
        ok(m.select("INBOX"))
        m.literal = "grüße".encode()
        assert ok(m.search("UTF-8", "SUBJECT")) == [b"1"]
        m.literal = "GRÜSSE".encode()  # case folding: ß matches SS
        assert ok(m.search("UTF-8", "SUBJECT")) == [b"1"]
        typ, data = m.search("ISO-2022-JP", "ALL")
        assert typ == "NO" and data[0].startswith(b"[BADCHARSET (US-ASCII UTF-8)]")
        m.logout()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_header_search_repeated_and_mixed(imap_port: int) -> None:
    """Header keys answer the same on a first search, a repeated one, after a header FETCH
    and beside content keys; several fields of one name and folded fields all count."""
    messages = [
        b"Subject: =?utf-8?q?Stra=C3=9Fe?= plan\r\nX-Kind: one\r\n\r\nzebra\r\n",
        b"Subject: first\r\nSubject: Second STRASSE\r\nFrom: Dora <dora@example.test>\r\n\r\nx\r\n",
        b"Subject: folded\r\n  across lines\r\nX-Kind: two\r\n\r\nzebra\r\n",
        b"From: nobody@example.test\r\n\r\nno subject\r\n",
    ]

    def client() -> None:
        m = login(imap_port)
        for raw in messages:
            ok(m.append("INBOX", None, None, raw))
        ok(m.select("INBOX"))
        for _ in range(2):
            assert search(m, "SUBJECT", "strasse") == [1, 2]
            assert search(m, "SUBJECT", '"folded  across"') == [3]  # blanks kept
            assert search(m, "SUBJECT", "second") == [2]
            assert search(m, "SUBJECT", "dora") == []  # in another field only
            assert search(m, "SUBJECT", "firstsubject") == []  # across two fields
            assert search(m, "SUBJECT", '"t second"') == []  # across two fields
            assert search(m, "HEADER", "X-Kind", "TWO") == [3]
            assert search(m, "HEADER", "X-Kind", '""') == [1, 3]
            assert search(m, "HEADER", "Subject", '""') == [1, 2, 3]
            assert search(m, "FROM", "dora") == [2] and search(m, "FROM", '""') == [2, 4]
            assert search(m, "SUBJECT", "plan", "BODY", "zebra") == [1]
            assert search(m, "OR", "SUBJECT", "first", "BODY", "zebra") == [1, 2, 3]
            assert search(m, "NOT", "SUBJECT", "strasse", "NOT", "FROM", "nobody") == [3]
            ok(m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (Subject From X-Kind)])"))
        m.logout()

    yield threads.deferToThread(client)
