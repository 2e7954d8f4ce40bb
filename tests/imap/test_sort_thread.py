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
