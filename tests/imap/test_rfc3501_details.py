"""RFC 3501 details over imaplib, on the memory, Maildir and mbox drivers: FETCH of nested
sections with partial ranges and MIME headers, RFC822.SIZE as the byte count of BODY[],
SEARCH keys in their corners (HEADER with an empty string, sent dates in other zones,
OR/NOT nesting, UID ranges with ``*``, ``$`` refused while SEARCHRES is not offered) and
RENAME INBOX (the messages move, INBOX stays and is empty, its children stay)."""

from __future__ import annotations

import imaplib
import re
from pathlib import Path

import pytest
import pytest_twisted
from clients import ALICE, MESSAGE, MULTIPART, ok
from support import PASSWORD, listen, write_config
from twisted.internet import threads

from maa.config import load_config

NESTED = (
    b"From: a@example.test\r\n"
    b"To: b@example.test\r\n"
    b"Subject: nested\r\n"
    b"Date: Tue, 05 Mar 2024 23:30:00 -0500\r\n"
    b"X-Empty:\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="o"\r\n'
    b"\r\n"
    b"--o\r\n"
    b'Content-Type: multipart/mixed; boundary="i"\r\n'
    b"\r\n"
    b"--i\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"inner text\r\n"
    b"--i\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"Content-Description: forwarded\r\n"
    b"\r\n"
    b"From: c@example.test\r\n"
    b"Subject: forwarded one\r\n"
    b"X-Long: abcdefghij\r\n"
    b"\r\n"
    b"forwarded body\r\n"
    b"--i--\r\n"
    b"--o\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"second\r\n"
    b"--o--\r\n"
)
# A message as another MDA leaves it in a Maildir: bare LF, no newline at the end.
LF_ONLY = b"Subject: lf only\nDate: Sat, 06 Jan 2024 01:00:00 +1400\n\nline one\nno newline"


@pytest.fixture(params=["memory", "maildir", "mbox"])
def port(request: pytest.FixtureRequest, tmp_path: Path) -> int:
    from twisted.internet import reactor

    from maa.imap.server import build_factory
    from maa.service import build_context

    location = f"{request.param}:{tmp_path}/mail/%d/%n"
    config = load_config(write_config(tmp_path / "etc", mail={"location": location}))
    return listen(build_factory(build_context(config, reactor), implicit_tls=False))


def session(port: int, *messages: bytes) -> imaplib.IMAP4:
    m = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    ok(m.login(ALICE, PASSWORD))
    for message in messages:
        ok(m.append("INBOX", None, None, message))
    ok(m.select("INBOX"))
    return m


def literals(data: list[object]) -> dict[bytes, bytes]:
    """Each literal of a FETCH answer by the item name before it."""
    out = {}
    for item in data:
        if isinstance(item, tuple):
            name = re.match(rb"(?:\d+ \()? *(.+) \{\d+\}$", item[0])
            assert name, item
            out[name[1]] = item[1]
    return out


def search(m: imaplib.IMAP4, *criteria: str, uid: bool = False) -> list[int]:
    data = ok(m.uid("SEARCH", *criteria) if uid else m.search(None, *criteria))
    return [int(n) for n in data[0].split()]  # type: ignore[union-attr]


@pytest_twisted.inlineCallbacks
def test_fetch_nested_sections_partial_and_mime(port: int) -> None:
    def client() -> None:
        m = session(port, MESSAGE, MULTIPART, NESTED)
        fields = b"Subject: forwarded one\r\nX-Long: abcdefghij\r\n\r\n"
        got = literals(
            ok(
                m.fetch(
                    "3",
                    "(BODY.PEEK[1.2.HEADER.FIELDS (Subject X-Long)]<8.20>"
                    " BODY.PEEK[1.2.HEADER.FIELDS.NOT (From)] BODY.PEEK[1.2.MIME]"
                    " BODY.PEEK[1.1.MIME] BODY.PEEK[2.MIME] BODY.PEEK[1.2.TEXT]"
                    " BODY.PEEK[1.2.1] BODY.PEEK[1.1]<6.100>)",
                )
            )
        )
        assert got == {
            b"BODY[1.2.HEADER.FIELDS (SUBJECT X-LONG)]<8>": fields[8:28],
            b"BODY[1.2.HEADER.FIELDS.NOT (FROM)]": fields,
            b"BODY[1.2.MIME]": (
                b"Content-Type: message/rfc822\r\nContent-Description: forwarded\r\n\r\n"
            ),
            b"BODY[1.1.MIME]": b"Content-Type: text/plain\r\n\r\n",
            b"BODY[2.MIME]": b"Content-Type: text/plain\r\n\r\n",
            b"BODY[1.2.TEXT]": b"forwarded body",
            b"BODY[1.2.1]": b"forwarded body",
            b"BODY[1.1]<6>": b"text",
        }
        # A partial range beyond the end is empty, not an error.
        assert literals(ok(m.fetch("3", "(BODY.PEEK[1.1]<99.5>)"))) == {b"BODY[1.1]<99>": b""}
        # BINARY is not advertised, so it is no FETCH item.
        assert "BINARY" not in m.capabilities
        with pytest.raises(imaplib.IMAP4.error, match="BAD"):
            m.fetch("3", "(BINARY.PEEK[1])")
        ok(m.noop())
        m.logout()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_rfc822_size_is_the_byte_count_of_body(port: int) -> None:
    def client() -> None:
        m = session(port, MESSAGE, MULTIPART, NESTED, LF_ONLY)
        data = ok(m.fetch("1:4", "(RFC822.SIZE BODY.PEEK[])"))
        sizes = {}
        for item in data:
            if isinstance(item, tuple):
                match = re.match(rb"(\d+) \(RFC822.SIZE (\d+) BODY\[\] \{(\d+)\}$", item[0])
                assert match, item
                assert int(match[2]) == int(match[3]) == len(item[1]), item[0]
                sizes[int(match[1])] = len(item[1])
        assert sizes[1] == len(MESSAGE) and sizes[3] == len(NESTED)
        # Bare LF reaches the client as CRLF, and the size counts it so.
        assert sizes[4] == len(LF_ONLY.replace(b"\n", b"\r\n"))
        assert search(m, "LARGER", str(sizes[4] - 1)) == [1, 2, 3, 4]
        assert search(m, "LARGER", str(sizes[4])) == [1, 2, 3]
        assert search(m, "SMALLER", str(sizes[4] + 1)) == [4]
        m.logout()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_search_corners(port: int) -> None:
    def client() -> None:
        m = session(port, MESSAGE, MULTIPART, NESTED, LF_ONLY)
        # HEADER with "" matches every message that has the field, even empty.
        assert search(m, "HEADER", "X-Empty", '""') == [3]
        assert search(m, "HEADER", "x-tag", '""') == [1]
        assert search(m, "HEADER", "Subject", '""') == [1, 2, 3, 4]
        assert search(m, "HEADER", "X-Nowhere", '""') == []
        # Sent dates are the Date field's own day, disregarding time and zone.
        assert search(m, "SENTON", "5-Mar-2024") == [1, 3]
        assert search(m, "SENTON", "6-Jan-2024") == [4]
        assert search(m, "SENTBEFORE", "5-Mar-2024") == [4]
        assert search(m, "SENTSINCE", "6-Mar-2024") == []
        assert search(m, "SENTSINCE", "6-Jan-2024", "SENTBEFORE", "6-Mar-2024") == [1, 3, 4]
        # OR and NOT nest in both directions.
        assert search(m, "OR", "SUBJECT", "parts", "NOT", "(OR SUBJECT nested FROM bob)") == [2, 4]
        assert search(m, "NOT", "NOT", "OR", "1", "3") == [1, 3]
        assert search(m, "OR", "OR", "1", "2", "OR", "(4)", "NOT", "ALL") == [1, 2, 4]
        assert search(m, "(OR 1 (3)) NOT 1") == [3]
        # "*" is the last message; a UID range through "*" reaches the highest UID even
        # from above it (RFC 3501 6.4.8).
        assert search(m, "*") == [4] and search(m, "3:*") == [3, 4] and search(m, "*:3") == [3, 4]
        assert search(m, "UID", "2:*", uid=True) == [2, 3, 4]
        assert search(m, "UID", "99:*", uid=True) == [4]
        assert search(m, "UID", "*", uid=True) == [4]
        assert search(m, "NOT", "UID", "1:*") == []
        # "$" needs SEARCHRES, which is not offered: BAD, and the session goes on.
        assert "SEARCHRES" not in m.capabilities
        with pytest.raises(imaplib.IMAP4.error, match="BAD"):
            m.search(None, "$")
        assert search(m, "TEXT", "forwarded") == [3]
        m.logout()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_rename_inbox_moves_the_messages_and_leaves_it_empty(port: int) -> None:
    def client() -> None:
        m = session(port, MESSAGE, MULTIPART)
        ok(m.create("INBOX.Child"))
        ok(m.append("INBOX.Child", None, None, NESTED))
        ok(m.store("1", "+FLAGS", "(\\Flagged $Label1)"))
        ok(m.unselect())
        ok(m.rename("INBOX", "Old"))
        assert ok(m.status("INBOX", "(MESSAGES)")) == [b"INBOX (MESSAGES 0)"]
        assert ok(m.status("Old", "(MESSAGES)")) == [b"Old (MESSAGES 2)"]
        # INBOX's children are not renamed with it (RFC 3501 6.3.5).
        assert ok(m.status("INBOX.Child", "(MESSAGES)")) == [b"INBOX.Child (MESSAGES 1)"]
        status, _ = m.status("Old.Child", "(MESSAGES)")
        assert status == "NO"
        ok(m.select("Old"))
        data = ok(m.fetch("1:2", "(FLAGS RFC822.SIZE)"))
        assert b"\\Flagged" in data[0] and b"$Label1" in data[0]  # type: ignore[operator]
        assert data[0].endswith(b"RFC822.SIZE %d)" % len(MESSAGE))  # type: ignore[union-attr]
        # INBOX is still there and takes new mail; renaming onto an existing name fails.
        ok(m.append("INBOX", None, None, MESSAGE))
        assert ok(m.select("INBOX")) == [b"1"]
        status, _ = m.rename("INBOX", "Old")
        assert status == "NO"
        assert ok(m.status("INBOX", "(MESSAGES)")) == [b"INBOX (MESSAGES 1)"]
        m.logout()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_rename_of_the_selected_inbox(port: int) -> None:
    """The session that has INBOX selected hears its messages expunged and goes on with
    the empty INBOX, as long as the driver keeps INBOX's UIDVALIDITY. Where it does not
    (mbox makes a new INBOX), the session's UIDs mean nothing any more: BYE."""

    def client() -> None:
        m = session(port, MESSAGE, MULTIPART)
        validity = ok(m.status("INBOX", "(UIDVALIDITY)"))[0]
        m.response("EXPUNGE")
        bye = None
        try:
            ok(m.rename("INBOX", "Old"))
        except imaplib.IMAP4.abort as e:
            bye = str(e)
        other = session(port)  # a fresh look at INBOX
        if ok(other.status("INBOX", "(UIDVALIDITY)"))[0] == validity:
            assert bye is None
            assert m.response("EXPUNGE")[1] == [b"2", b"1"]
            ok(m.append("INBOX", None, None, MESSAGE))
            ok(m.noop())
            assert m.response("EXISTS")[1][-1] == b"1"
            [line] = ok(m.fetch("1", "(UID)"))
            assert int(re.findall(rb"UID (\d+)", line)[0]) > 2  # type: ignore[arg-type]
            m.logout()
        else:
            assert bye is not None and "relogin" in bye
        assert ok(other.status("Old", "(MESSAGES)")) == [b"Old (MESSAGES 2)"]
        other.logout()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_rename_of_the_selected_folder_keeps_the_session_on_it(port: int) -> None:
    def client() -> None:
        m = session(port)
        ok(m.create("Work"))
        ok(m.append("Work", None, None, MESSAGE))
        ok(m.select("Work"))
        ok(m.rename("Work", "Done"))
        assert m.response("EXPUNGE")[1] == [None]
        ok(m.store("1", "+FLAGS", "(\\Flagged)"))
        ok(m.append("Done", None, None, MULTIPART))
        ok(m.noop())
        assert m.response("EXISTS")[1][-1] == b"2"
        assert ok(m.uid("SEARCH", "FLAGGED")) == [b"1"]
        m.logout()

    yield threads.deferToThread(client)
