"""ESEARCH (RFC 4731) and UTF8=ACCEPT (RFC 6855) on the wire."""

from __future__ import annotations

import pytest_twisted
from clients import ALICE, MESSAGE, RawClient
from support import PASSWORD
from twisted.internet import threads


def logged_in(port: int) -> RawClient:
    raw = RawClient(port)
    raw.command(b"l", f"LOGIN {ALICE} {PASSWORD}".encode())
    return raw


@pytest_twisted.inlineCallbacks
def test_esearch_rfc4731_examples(imap_port: int) -> None:
    def run() -> None:
        raw = logged_in(imap_port)
        for n in range(12):
            flags = b"(\\Flagged)" if n in (1, 9, 10, 11) else b"()"
            raw.send(b"a APPEND INBOX %s {%d+}\r\n" % (flags, len(MESSAGE)) + MESSAGE + b"\r\n")
            raw.until_tagged(b"a")
        raw.command(b"s", b"SELECT INBOX")
        # RFC 4731 3.1 examples, on this mailbox
        lines = raw.command(b"A282", b"SEARCH RETURN (MIN COUNT) FLAGGED")
        assert lines == [b'* ESEARCH (TAG "A282") MIN 2 COUNT 4', b"A282 OK Search completed"]
        lines = raw.command(b"A283", b"SEARCH RETURN () FLAGGED")
        assert lines[0] == b'* ESEARCH (TAG "A283") ALL 2,10:12'
        lines = raw.command(b"A284", b"SEARCH RETURN (MIN) DELETED")
        assert lines[0] == b'* ESEARCH (TAG "A284")'
        lines = raw.command(b"A285", b"UID SEARCH RETURN (MIN MAX) FLAGGED")
        assert lines[0] == b'* ESEARCH (TAG "A285") UID MIN 2 MAX 12'
        lines = raw.command(b"A286", b"SEARCH RETURN (COUNT ALL MAX) RECENT")
        assert lines[0] == b'* ESEARCH (TAG "A286") MAX 12 ALL 1:12 COUNT 12'
        lines = raw.command(b"A287", b"SEARCH RETURN (SAVE) ALL")  # SEARCHRES: not offered
        assert lines[-1].startswith(b"A287 BAD")
        lines = raw.command(b"A288", b"SEARCH RECENT NOT FLAGGED")  # RECENT is still a key
        assert lines[0] == b"* SEARCH 1 3 4 5 6 7 8 9"
        raw.close()

    yield threads.deferToThread(run)


@pytest_twisted.inlineCallbacks
def test_utf8_accept_mailbox_names_and_append(imap_port: int) -> None:
    def run() -> None:
        raw = logged_in(imap_port)
        # Before ENABLE: modified UTF-7
        raw.command(b"c", b"CREATE &AMQ-rger")
        assert raw.command(b"l", b'LIST "" &AMQ-rger')[0].endswith(b'"." &AMQ-rger')
        assert raw.command(b"e", b"ENABLE UTF8=ACCEPT")[0] == b"* ENABLED UTF8=ACCEPT"
        name = "Entwürfe".encode()
        assert raw.command(b"c2", b'CREATE "' + name + b'"')[-1].startswith(b"c2 OK")
        lines = raw.command(b"l2", b'LIST "" "*"')
        assert b'* LIST (\\HasNoChildren) "." "' + name + b'"' in lines
        assert b'* LIST (\\HasNoChildren) "." "' + "Ärger".encode() + b'"' in lines
        message = "Subject: Grüße\r\nFrom: jörg@example.test\r\n\r\nHallo\r\n".encode()
        raw.send(b'a APPEND "%s" UTF8 (~{%d+}\r\n' % (name, len(message)) + message + b")\r\n")
        assert raw.until_tagged(b"a")[-1].startswith(b"a OK [APPENDUID")
        lines = raw.command(b"st", b'STATUS "' + name + b'" (MESSAGES)')
        assert lines[0] == b'* STATUS "' + name + b'" (MESSAGES 1)'
        lines = raw.command(b"s", b'SELECT "' + name + b'"')
        assert b"* 1 EXISTS" in lines and lines[-1].startswith(b"s OK")
        lines = raw.command(b"f", b"FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        assert "Grüße".encode() in b"\n".join(lines)
        raw.close()

    yield threads.deferToThread(run)
