"""CONDSTORE and QRESYNC (RFC 7162) over a real socket, following the RFC's section 3
examples with this server's MODSEQ values."""

from __future__ import annotations

import re

import pytest_twisted
from clients import ALICE, MESSAGE, RawClient
from support import PASSWORD
from twisted.internet import threads


def logged_in(port: int) -> RawClient:
    raw = RawClient(port)
    assert raw.command(b"l", f"LOGIN {ALICE} {PASSWORD}".encode())[-1].startswith(b"l OK")
    return raw


def append(raw: RawClient, count: int, mailbox: bytes = b"INBOX") -> None:
    for n in range(count):
        head = b"ap%d APPEND %s (\\Seen) {%d+}\r\n" % (n, mailbox, len(MESSAGE))
        raw.send(head + MESSAGE + b"\r\n")
        assert raw.until_tagged(b"ap%d" % n)[-1].startswith(b"ap%d OK" % n)


def modseq_of(line: bytes) -> int:
    found = re.search(rb"MODSEQ \((\d+)\)", line)
    assert found, line
    return int(found.group(1))


def highest(lines: list[bytes]) -> int:
    for line in lines:
        found = re.match(rb"\* OK \[HIGHESTMODSEQ (\d+)\]", line)
        if found:
            return int(found.group(1))
    raise AssertionError(lines)


def uidvalidity(lines: list[bytes]) -> int:
    for line in lines:
        found = re.match(rb"\* OK \[UIDVALIDITY (\d+)\]", line)
        if found:
            return int(found.group(1))
    raise AssertionError(lines)


@pytest_twisted.inlineCallbacks
def test_condstore_fetch_store_search_status(imap_port: int) -> None:
    def client() -> None:
        raw = logged_in(imap_port)
        append(raw, 5)
        caps = raw.command(b"c", b"CAPABILITY")[0]
        for cap in (b"CONDSTORE", b"QRESYNC", b"ESEARCH", b"LIST-EXTENDED", b"COMPRESS=DEFLATE"):
            assert cap in caps.split()
        # 3.1.8: SELECT (CONDSTORE) answers HIGHESTMODSEQ and enables CONDSTORE
        lines = raw.command(b"s", b"SELECT INBOX (CONDSTORE)")
        top = highest(lines)
        assert lines[-1].startswith(b"s OK [READ-WRITE]")
        # 3.1.4: FETCH MODSEQ
        lines = raw.command(b"f", b"FETCH 1:5 (FLAGS MODSEQ)")
        modseqs = [modseq_of(line) for line in lines[:-1]]
        assert len(modseqs) == 5 and max(modseqs) == top
        # 3.1.3 example: STORE (UNCHANGEDSINCE) on messages changed meanwhile is refused
        other = logged_in(imap_port)
        other.command(b"s", b"SELECT INBOX")
        other.command(b"t", b"STORE 2 +FLAGS (\\Flagged)")
        other.close()
        lines = raw.command(b"u", b"STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS (\\Deleted)" % top)
        tagged = lines[-1]
        assert tagged.startswith(b"u OK [MODIFIED 2]"), lines
        fetches = [line for line in lines if b"FETCH" in line]
        # message 2's change by the other session is told (with its MODSEQ) ...
        assert any(line.startswith(b"* 2 FETCH") and b"\\Flagged" in line for line in fetches)
        # ... and 1 and 3 got \Deleted with new MODSEQs above the old highest
        for n in (1, 3):
            line = next(f for f in fetches if f.startswith(b"* %d FETCH" % n))
            assert b"\\Deleted" in line and modseq_of(line) > top
        # UNCHANGEDSINCE 0 fails for every message
        lines = raw.command(b"z", b"UID STORE 1:* (UNCHANGEDSINCE 0) +FLAGS.SILENT (\\Answered)")
        assert lines[-1].startswith(b"z OK [MODIFIED 1:5]"), lines
        # .SILENT with UNCHANGEDSINCE: no FLAGS, but the new MODSEQ is told
        lines = raw.command(b"v", b"STORE 4 (UNCHANGEDSINCE 999999) +FLAGS.SILENT (\\Answered)")
        assert len(lines) == 2 and b"FLAGS" not in lines[0] and b"MODSEQ" in lines[0], lines
        new_top = modseq_of(lines[0])
        # 3.1.4.1: CHANGEDSINCE returns only messages changed after the value
        lines = raw.command(b"g", b"FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % top)
        changed = sorted(int(line.split()[1]) for line in lines[:-1])
        assert changed == [1, 2, 3, 4], lines
        assert all(b"MODSEQ" in line for line in lines[:-1])
        # At the folder's HIGHESTMODSEQ nothing has changed since; just below it, the last.
        lines = raw.command(b"g2", b"FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % new_top)
        assert len(lines) == 1 and lines[-1].startswith(b"g2 OK"), lines
        lines = raw.command(b"g3", b"FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % (new_top - 1))
        assert [int(line.split()[1]) for line in lines[:-1]] == [4], lines
        # Only the changed messages the set names, by number and by UID ("*" the last one).
        lines = raw.command(b"g4", b"FETCH 2:3 (FLAGS) (CHANGEDSINCE %d)" % top)
        assert [int(line.split()[1]) for line in lines[:-1]] == [2, 3], lines
        lines = raw.command(b"g5", b"UID FETCH 3:* (FLAGS) (CHANGEDSINCE %d)" % top)
        assert [int(line.split()[1]) for line in lines[:-1]] == [3, 4], lines
        assert all(b"UID" in line for line in lines[:-1]), lines
        lines = raw.command(b"g6", b"FETCH 9 (FLAGS) (CHANGEDSINCE %d)" % top)
        assert lines[-1].startswith(b"g6 BAD"), lines
        # 3.1.5: SEARCH MODSEQ with the (MODSEQ n) suffix
        lines = raw.command(b"h", b"SEARCH MODSEQ %d" % (top + 1))
        assert lines[0] == b"* SEARCH 1 2 3 4 (MODSEQ %d)" % new_top, lines
        lines = raw.command(b"h2", b'SEARCH MODSEQ "/flags/\\\\draft" all %d' % (new_top + 1))
        assert lines[0] == b"* SEARCH", lines
        # ESEARCH with MODSEQ (RFC 4731 + 7162)
        lines = raw.command(b"e", b"UID SEARCH RETURN (MIN MAX COUNT) MODSEQ %d" % (top + 1))
        assert lines[0] == b'* ESEARCH (TAG "e") UID MIN 1 MAX 4 COUNT 4 MODSEQ %d' % new_top
        # 3.1.2: STATUS HIGHESTMODSEQ
        lines = raw.command(b"st", b"STATUS INBOX (MESSAGES HIGHESTMODSEQ)")
        assert lines[0] == b"* STATUS INBOX (MESSAGES 5 HIGHESTMODSEQ %d)" % new_top
        raw.close()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_unsolicited_fetch_carries_modseq_once_enabled(imap_port: int) -> None:
    def client() -> None:
        raw = logged_in(imap_port)
        append(raw, 2)
        raw.command(b"e", b"ENABLE CONDSTORE")
        raw.command(b"s", b"SELECT INBOX")
        other = logged_in(imap_port)
        other.command(b"s", b"SELECT INBOX")
        other.command(b"t", b"STORE 1 +FLAGS (\\Flagged)")
        lines = raw.command(b"n", b"NOOP")
        expected = rb"\* 1 FETCH \(FLAGS \(\\Flagged \\Recent \\Seen\) MODSEQ \(\d+\)\)"
        assert re.match(expected, lines[0]), lines
        # plain FETCH FLAGS gets MODSEQ too
        assert b"MODSEQ" in raw.command(b"f", b"FETCH 2 FLAGS")[0]
        other.close()
        raw.close()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_qresync_enable_vanished_and_closed(imap_port: int) -> None:
    def client() -> None:
        raw = logged_in(imap_port)
        append(raw, 6)
        # QRESYNC parameters before ENABLE QRESYNC are a client error (3.2.5)
        assert raw.command(b"q", b"SELECT INBOX (QRESYNC (1 1))")[-1].startswith(b"q BAD")
        assert raw.command(b"e", b"ENABLE QRESYNC")[0] == b"* ENABLED QRESYNC"
        lines = raw.command(b"s", b"SELECT INBOX")
        validity, top = uidvalidity(lines), highest(lines)
        # 3.2.10: expunges are told as VANISHED, in UIDs
        raw.command(b"d", b"STORE 2,4:5 +FLAGS.SILENT (\\Deleted)")
        lines = raw.command(b"x", b"EXPUNGE")
        assert lines[:-1] == [b"* VANISHED 2,4:5"], lines
        # 3.2.6: UID FETCH (CHANGEDSINCE m VANISHED)
        lines = raw.command(b"f", b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % top)
        assert lines[0] == b"* VANISHED (EARLIER) 2,4:5", lines
        assert lines[-1].startswith(b"f OK")
        assert raw.command(b"g", b"FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)")[-1].startswith(
            b"g BAD"
        )
        # 3.2.5 example: SELECT with QRESYNC while a mailbox is selected: [CLOSED] first
        lines = raw.command(b"r", b"SELECT INBOX (QRESYNC (%d %d 1:6))" % (validity, top))
        assert lines[0] == b"* OK [CLOSED] Previous mailbox closed."
        assert b"* VANISHED (EARLIER) 2,4:5" in lines
        # a wrong UIDVALIDITY: no VANISHED or FETCH, a full resync is the client's job
        lines = raw.command(b"w", b"EXAMINE INBOX (QRESYNC (%d %d 1:6))" % (validity + 1, top))
        assert not any(b"VANISHED" in line or b"FETCH" in line for line in lines)
        raw.close()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_vanished_waits_during_sequence_number_commands(imap_port: int) -> None:
    """RFC 7162 3.2.10 with RFC 3501 7.4.1: VANISHED renumbers like EXPUNGE, so another
    session's expunge is not told during FETCH, but is at the next NOOP."""

    def client() -> None:
        raw = logged_in(imap_port)
        append(raw, 3)
        raw.command(b"e", b"ENABLE QRESYNC")
        raw.command(b"s", b"SELECT INBOX")
        other = logged_in(imap_port)
        other.command(b"s", b"SELECT INBOX")
        other.command(b"t", b"STORE 1 +FLAGS.SILENT (\\Deleted)")
        other.command(b"x", b"EXPUNGE")
        other.close()
        lines = raw.command(b"f", b"FETCH 1:* (UID)")
        assert not any(b"VANISHED" in line for line in lines)
        assert raw.command(b"n", b"NOOP")[0] == b"* VANISHED 1"
        raw.close()

    yield threads.deferToThread(client)
