"""SORT and THREAD (RFC 5256, RFC 5957) on a fixed corpus, against the answers Debian's
Dovecot gave on the same messages (``fixtures/sort_dovecot.json``), plus RFC examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest_twisted
import sortcorpus
from clients import ALICE, RawClient
from support import PASSWORD
from twisted.internet import threads

FIXTURE = Path(__file__).parent / "fixtures" / "sort_dovecot.json"


def corpus_client(port: int) -> RawClient:
    raw = RawClient(port)
    raw.command(b"l", f"LOGIN {ALICE} {PASSWORD}".encode())
    for n, (minutes, message) in enumerate(sortcorpus.CORPUS):
        date = sortcorpus.internal_date(minutes).encode()
        raw.send(b'a%d APPEND INBOX "%s" {%d+}\r\n' % (n, date, len(message)) + message + b"\r\n")
        assert raw.until_tagged(b"a%d" % n)[-1].startswith(b"a%d OK" % n)
    raw.command(b"s", b"SELECT INBOX")
    return raw


def answer(raw: RawClient, command: str) -> str:
    lines = raw.command(b"c", command.encode())
    assert lines[-1].startswith(b"c OK"), lines
    word = b"* THREAD" if "THREAD" in command else b"* SORT"
    (line,) = [line for line in lines if line.startswith(word)]
    return line.decode()


@pytest_twisted.inlineCallbacks
def test_corpus_answers_match_dovecot(imap_port: int) -> None:
    expected = json.loads(FIXTURE.read_text())
    assert set(expected) == set(sortcorpus.COMMANDS)

    def run() -> dict[str, tuple[str, str]]:
        raw = corpus_client(imap_port)
        got = {command: answer(raw, command) for command in sortcorpus.COMMANDS}
        # A second round comes from the session memo and the folder cache: same answers.
        assert {command: answer(raw, command) for command in sortcorpus.COMMANDS} == got
        return {c: (got[c], expected[c]) for c in got if got[c] != expected[c]}

    differences = yield threads.deferToThread(run)
    assert differences == {}, json.dumps(differences, indent=1)


@pytest_twisted.inlineCallbacks
def test_sort_and_thread_edge_cases(imap_port: int) -> None:
    def run() -> None:
        raw = corpus_client(imap_port)
        assert answer(raw, "SORT (SUBJECT) UTF-8 SUBJECT nothing-matches") == "* SORT"
        assert answer(raw, "THREAD REFERENCES UTF-8 SUBJECT nothing-matches") == "* THREAD"
        assert raw.command(b"x", b"SORT (SUBJECT) KOI8-R ALL")[-1].startswith(b"x NO [BADCHARSET")
        assert raw.command(b"y", b"THREAD REFS UTF-8 ALL")[-1].startswith(b"y BAD")
        assert raw.command(b"z", b"SORT (DATE) ALL")[-1].startswith(b"z BAD")  # charset needed
        caps = raw.command(b"c", b"CAPABILITY")[0].split()
        for cap in (b"SORT", b"SORT=DISPLAY", b"THREAD=REFERENCES", b"THREAD=ORDEREDSUBJECT"):
            assert cap in caps

    yield threads.deferToThread(run)


@pytest_twisted.inlineCallbacks
def test_thread_again_after_changes(imap_port: int) -> None:
    """A THREAD repeated after a flag change answers as before; after an APPEND or an
    EXPUNGE (which renumbers), with the folder as it now is."""

    def run() -> None:
        raw = corpus_client(imap_port)
        count = len(sortcorpus.CORPUS)
        for command in ("THREAD REFERENCES UTF-8 ALL", "UID THREAD ORDEREDSUBJECT UTF-8 ALL"):
            before = answer(raw, command)
            raw.command(b"f", b"STORE 1:* +FLAGS.SILENT (\\Seen)")
            assert answer(raw, command) == before
        reply = b"Subject: Re: added\r\nIn-Reply-To: <nowhere@example.test>\r\n\r\nx\r\n"
        raw.command(b"a", b"APPEND INBOX {%d+}\r\n%s" % (len(reply), reply))
        raw.command(b"n", b"NOOP")
        fresh = RawClient(raw.sock.getpeername()[1])
        fresh.command(b"l", f"LOGIN {ALICE} {PASSWORD}".encode())
        fresh.command(b"s", b"SELECT INBOX")
        for command in ("THREAD REFERENCES UTF-8 ALL", "UID THREAD REFERENCES UTF-8 ALL"):
            assert answer(raw, command) == answer(fresh, command)
            assert str(count + 1) in answer(raw, command)
        raw.command(b"d", b"STORE 1 +FLAGS.SILENT (\\Deleted)")
        raw.command(b"e", b"EXPUNGE")
        fresh.command(b"n", b"NOOP")
        for command in ("THREAD REFERENCES UTF-8 ALL", "THREAD ORDEREDSUBJECT UTF-8 ALL"):
            got = answer(raw, command)
            assert got == answer(fresh, command)
            assert str(count + 1) not in got.replace("(", " ").replace(")", " ").split()

    yield threads.deferToThread(run)
