"""Two sessions on one Maildir INBOX: what a session answers about messages the other one
expunged before it heard of it (RFC 2180 4.1, answered as Dovecot does). No FETCH, SEARCH
or SORT fails for the messages that remain; a UID command leaves the gone UIDs out and
tells their EXPUNGE at once; a COPY by number copies nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pytest_twisted
from clients import MESSAGE, RawClient
from support import listen
from twisted.internet import threads

from maa.context import ServerContext

S_EXPUNGEISSUED = b"OK [EXPUNGEISSUED]"


@pytest.fixture
def port(ctx: ServerContext) -> Iterator[int]:
    from maa.imap.server import build_factory

    assert ctx.config.mail.location.startswith("maildir:")
    yield listen(build_factory(ctx, implicit_tls=False))


def sessions(port: int, count: int = 3) -> tuple[RawClient, RawClient]:
    """Session ``a`` and ``b``, both with INBOX selected, ``count`` messages in it."""
    a, b = RawClient(port), RawClient(port)
    for raw in (a, b):
        raw.command(b"l", b"LOGIN alice@example.test secret")
    for _ in range(count):
        a.command(b"p", b"APPEND INBOX {%d+}\r\n%s" % (len(MESSAGE), MESSAGE))
    for raw in (a, b):
        raw.command(b"s", b"SELECT INBOX")
    return a, b


def expunge(b: RawClient, what: bytes) -> None:
    b.command(b"d", b"UID STORE " + what + b" +FLAGS.SILENT (\\Deleted)")
    assert b.command(b"x", b"EXPUNGE")[-1].startswith(b"x OK")


def run(fn: object) -> object:
    return threads.deferToThread(fn)  # type: ignore[arg-type]


@pytest_twisted.inlineCallbacks
def test_uid_fetch_leaves_out_what_is_gone_and_says_expunge(port: int) -> None:
    def client() -> None:
        a, b = sessions(port)
        expunge(b, b"2")
        lines = a.command(b"f", b"UID FETCH 1:3 (UID FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])")
        assert lines[-1] == b"f OK Fetch completed" or lines[-1].startswith(b"f " + S_EXPUNGEISSUED)
        fetched = [line for line in lines if b" FETCH (" in line]
        assert [line.split(b" FETCH")[0] for line in fetched] == [b"* 1", b"* 3"], lines
        assert b"* 2 EXPUNGE" in lines
        # The pending EXPUNGE is told once; the view is renumbered.
        assert b"* 2 FETCH (UID 3)" in a.command(b"g", b"FETCH 2 (UID)")
        a.close()
        b.close()

    yield run(client)


@pytest_twisted.inlineCallbacks
def test_fetch_by_number_answers_ok_with_what_the_index_knows(port: int) -> None:
    def client() -> None:
        a, b = sessions(port)
        expunge(b, b"1")
        # Learn of the expunge without being allowed to hear it (FETCH by number).
        a.command(b"f0", b"FETCH 1:* (UID)")
        lines = a.command(b"f", b"FETCH 1 (UID RFC822.SIZE FLAGS BODY[] ENVELOPE)")
        assert lines[-1].startswith(b"f " + S_EXPUNGEISSUED), lines
        assert lines[0].startswith(b"* 1 FETCH (UID 1 RFC822.SIZE %d FLAGS (" % len(MESSAGE))
        assert b"BODY[] NIL" in lines[0] and b"ENVELOPE (" in lines[0]
        assert not any(line.endswith(b"EXPUNGE") for line in lines)
        # FETCH by number did not set \Seen on the gone message, nor on the others.
        assert b"\\Seen" not in lines[0]
        assert b"* 1 EXPUNGE" in a.command(b"n", b"NOOP")
        a.close()
        b.close()

    yield run(client)


@pytest_twisted.inlineCallbacks
def test_search_and_sort_go_on_past_a_message_that_vanished(port: int) -> None:
    def client() -> None:
        a, b = sessions(port)
        expunge(b, b"1")
        # Body and header keys must read the message files; one of them is gone.
        lines = a.command(b"q", b"UID SEARCH BODY fox")
        assert lines[-1].startswith(b"q OK"), lines
        assert b"* SEARCH 2 3" in lines
        expunge(b, b"2")
        lines = a.command(b"h", b"SEARCH HEADER X-Tag blue")
        assert lines[-1].startswith(b"h OK"), lines
        assert b"* SEARCH 2" in lines  # UID 3: UID SEARCH told the first EXPUNGE
        lines = a.command(b"o", b"UID SORT (SUBJECT) UTF-8 ALL")
        assert lines[-1].startswith(b"o OK"), lines
        a.close()
        b.close()

    yield run(client)


@pytest_twisted.inlineCallbacks
def test_uid_store_on_a_gone_uid_is_ok_and_claims_no_flags(port: int) -> None:
    def client() -> None:
        a, b = sessions(port)
        expunge(b, b"2")
        lines = a.command(b"t", b"UID STORE 1:2 +FLAGS (\\Seen)")
        assert lines[-1] == b"t OK Store completed", lines
        assert any(line.startswith(b"* 1 FETCH (UID 1 FLAGS (") for line in lines)
        assert not any(b"UID 2 FLAGS" in line for line in lines), lines
        assert b"* 2 EXPUNGE" in lines
        # A pending expunge and a UID STORE: the gone UID is ignored, not an error.
        expunge(b, b"1")
        a.command(b"f", b"FETCH 1:* (UID)")
        lines = a.command(b"u", b"UID STORE 1 +FLAGS (\\Flagged)")
        assert lines[-1] == b"u OK Store completed", lines
        assert b"* 1 EXPUNGE" in lines
        a.close()
        b.close()

    yield run(client)


@pytest_twisted.inlineCallbacks
def test_copy_by_number_of_an_expunged_message_copies_nothing(port: int) -> None:
    def client() -> None:
        a, b = sessions(port)
        expunge(b, b"2")
        a.command(b"f", b"FETCH 1:* (UID)")  # a now knows, but may not say EXPUNGE yet
        lines = a.command(b"c", b"COPY 1:3 Trash")
        assert lines[-1].startswith(b"c NO [EXPUNGEISSUED]"), lines
        lines = a.command(b"m", b"MOVE 2 Trash")
        assert lines[-1].startswith(b"m NO [EXPUNGEISSUED]"), lines
        # After NOOP the numbers are current again and the copy goes through.
        assert b"(MESSAGES 0)" in b.command(b"s", b"STATUS Trash (MESSAGES)")[0]
        assert b"* 2 EXPUNGE" in a.command(b"n", b"NOOP")
        lines = a.command(b"c2", b"COPY 1:2 Trash")
        assert lines[-1].startswith(b"c2 OK [COPYUID "), lines
        a.close()
        b.close()

    yield run(client)


@pytest_twisted.inlineCallbacks
def test_a_new_keyword_is_announced_in_flags_to_every_session(port: int) -> None:
    def client() -> None:
        a, b = sessions(port, count=1)
        lines = b.command(b"k", b"STORE 1 +FLAGS ($Junk)")
        flags = [line for line in lines if line.startswith(b"* FLAGS ")]
        assert flags and b"$Junk" in flags[0], lines
        assert lines.index(flags[0]) < next(i for i, x in enumerate(lines) if b"FETCH" in x)
        assert any(b"[PERMANENTFLAGS ($Junk " in x and b" \\*)]" in x for x in lines), lines
        lines = a.command(b"n", b"NOOP")
        assert any(x.startswith(b"* FLAGS ") and b"$Junk" in x for x in lines), lines
        # Told once: a keyword already listed is not announced again.
        b.command(b"k2", b"STORE 1 -FLAGS ($Junk)")
        assert not any(
            x.startswith(b"* FLAGS") for x in b.command(b"k3", b"STORE 1 +FLAGS ($Junk)")
        )
        a.close()
        b.close()

    yield run(client)


@pytest_twisted.inlineCallbacks
def test_system_flags_are_matched_in_any_case(port: int) -> None:
    def client() -> None:
        a, b = sessions(port, count=1)
        lines = a.command(b"t", b"STORE 1 +FLAGS (\\seen \\FLAGGED)")
        assert lines[-1] == b"t OK Store completed", lines
        assert b"* 1 FETCH (FLAGS (\\Flagged \\Recent \\Seen))" in lines
        lines = a.command(b"p", b"APPEND INBOX (\\draft) {%d+}\r\n%s" % (len(MESSAGE), MESSAGE))
        assert lines[-1].startswith(b"p OK [APPENDUID"), lines
        assert a.command(b"b", b"STORE 1 +FLAGS (\\Bogus)")[-1].startswith(b"b BAD")
        a.close()
        b.close()

    yield run(client)
