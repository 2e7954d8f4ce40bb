"""Sessions in concert: IDLE sees deliveries, each session keeps its own numbering, and
EXPUNGE is never sent during FETCH, STORE or SEARCH by sequence number (RFC 3501 7.4.1)."""

from __future__ import annotations

import pytest_twisted
from clients import ALICE, MESSAGE, RawClient, login, ok
from twisted.internet import threads

from maa.context import ServerContext


def deliver(ctx: ServerContext, address: str = ALICE, count: int = 1) -> list[int]:
    """What LMTP does: append to the user's INBOX from a pool thread."""
    user = ctx.userdb.lookup(address)
    assert user is not None
    store = ctx.stores.open(user)
    store.ensure_defaults()
    return [store.folder("INBOX").append(MESSAGE) for _ in range(count)]


def idle_until(raw: RawClient, wanted: bytes) -> list[bytes]:
    lines = []
    while True:
        line = raw.line()
        lines.append(line)
        if wanted in line:
            return lines


@pytest_twisted.inlineCallbacks
def test_idle_sees_a_delivery_from_another_thread(imap_ctx: ServerContext, imap_port: int) -> None:
    yield threads.deferToThread(deliver, imap_ctx)

    def client() -> None:
        raw = RawClient(imap_port)
        raw.command(b"a", b"LOGIN alice@example.test secret")
        assert b"* 1 EXISTS" in raw.command(b"b", b"SELECT INBOX")
        raw.send(b"c IDLE\r\n")
        assert raw.line() == b"+ idling"
        # Another thread delivers while we idle; the socket timeout (10 s) bounds the wait.
        threads.blockingCallFromThread(imap_ctx.reactor, threads.deferToThread, deliver, imap_ctx)
        lines = idle_until(raw, b"EXISTS")
        assert b"* 2 EXISTS" in lines
        raw.send(b"DONE\r\n")
        assert raw.until_tagged(b"c")[-1] == b"c OK Idle completed."
        raw.close()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_two_sessions_see_each_others_changes(imap_port: int) -> None:
    def client() -> None:
        a = RawClient(imap_port)
        b = login(imap_port)
        a.command(b"a1", b"LOGIN alice@example.test secret")
        a.command(b"a2", b"SELECT INBOX")
        a.send(b"a3 IDLE\r\n")
        assert a.line() == b"+ idling"
        ok(b.append("INBOX", None, None, MESSAGE))
        assert b"* 1 EXISTS" in idle_until(a, b"EXISTS")
        ok(b.select("INBOX"))
        ok(b.store("1", "+FLAGS", "(\\Flagged)"))
        assert any(b"FETCH (FLAGS" in line and b"\\Flagged" in line
                   for line in idle_until(a, b"FETCH"))  # fmt: skip
        ok(b.store("1", "+FLAGS", "(\\Deleted)"))
        ok(b.expunge())
        assert b"* 1 EXPUNGE" in idle_until(a, b"EXPUNGE")
        a.send(b"DONE\r\n")
        assert a.until_tagged(b"a3")[-1].startswith(b"a3 OK")
        b.logout()
        a.close()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_no_expunge_during_fetch_store_search(imap_port: int) -> None:
    def client() -> None:
        b = login(imap_port)
        for _ in range(3):
            ok(b.append("INBOX", None, None, MESSAGE))
        a = RawClient(imap_port)
        a.command(b"a1", b"LOGIN alice@example.test secret")
        a.command(b"a2", b"SELECT INBOX")
        ok(b.select("INBOX"))
        ok(b.store("2", "+FLAGS", "(\\Deleted)"))
        ok(b.expunge())
        for tag, command in (
            (b"f", b"FETCH 1:* (UID)"),
            (b"s", b"STORE 1 +FLAGS (\\Seen)"),
            (b"q", b"SEARCH ALL"),
        ):
            lines = a.command(tag, command)
            assert not any(line.endswith(b"EXPUNGE") for line in lines), lines
        # Message 2 is still numbered 2 for this session until EXPUNGE may be sent.
        assert b"* 3 FETCH (UID 3)" in a.command(b"f2", b"FETCH 3 (UID)")
        lines = a.command(b"n", b"NOOP")
        assert b"* 2 EXPUNGE" in lines
        assert b"* 2 FETCH (UID 3)" in a.command(b"f3", b"FETCH 2 (UID)")
        # UID commands may get it at once.
        ok(b.store("1", "+FLAGS", "(\\Deleted)"))
        ok(b.expunge())
        assert b"* 1 EXPUNGE" in a.command(b"u", b"UID FETCH 1:* (FLAGS)")
        a.close()
        b.logout()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_fetch_of_a_message_expunged_elsewhere(imap_port: int) -> None:
    def client() -> None:
        b = login(imap_port)
        ok(b.append("INBOX", None, None, MESSAGE))
        a = RawClient(imap_port)
        a.command(b"a1", b"LOGIN alice@example.test secret")
        a.command(b"a2", b"SELECT INBOX")
        ok(b.select("INBOX"))
        ok(b.store("1", "+FLAGS", "(\\Deleted)"))
        ok(b.expunge())
        # By number the EXPUNGE may not be told yet: what is left of the message is
        # answered (NIL for its content) with OK [EXPUNGEISSUED], as Dovecot does.
        lines = a.command(b"f", b"FETCH 1 (BODY.PEEK[])")
        assert lines == [b"* 1 FETCH (BODY[] NIL)", lines[-1]], lines
        assert lines[-1].startswith(b"f OK [EXPUNGEISSUED]")
        assert b"* 1 EXPUNGE" in a.command(b"n", b"NOOP")
        a.close()

    yield threads.deferToThread(client)
