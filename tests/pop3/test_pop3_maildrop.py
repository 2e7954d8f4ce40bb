"""Maildrop semantics: the session lock, deletions only at QUIT, \\Seen for IMAP, and UIDLs
that survive restarts and IMAP flag changes."""

from __future__ import annotations

import poplib
import socket
import time
from pathlib import Path
from typing import Any

import pytest_twisted
from pop3_support import ALICE, BOB, Pop3Server, message
from twisted.internet import defer, threads

from maa.pop3.maildrop import MaildropLock
from maa.storage.interface import DELETED, FLAGGED, SEEN


def _until(condition: Any, timeout: float = 10.0) -> None:
    """Wait (in the client thread) for the server to have caught up with a disconnect."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the server did not catch up"
        time.sleep(0.02)


@pytest_twisted.inlineCallbacks
def test_a_second_session_on_the_same_maildrop_is_refused(pop3: Pop3Server) -> None:
    def sessions() -> tuple[bytes, bytes]:
        first = pop3.client()
        second = pop3.client(login=None)
        second.user(ALICE)
        try:
            second.pass_("secret")
        except poplib.error_proto as e:
            refusal = bytes(e.args[0])
        else:
            raise AssertionError("two sessions on one maildrop")
        other_user = pop3.client(BOB)  # another maildrop is not affected
        other_user.quit()
        first.quit()
        second.user(ALICE)
        again = second.pass_("secret")  # free once the first session is over
        second.quit()
        return refusal, again

    refusal, again = yield threads.deferToThread(sessions)
    assert refusal == b"-ERR [IN-USE] Mailbox is locked by another POP3 session"
    assert again == b"+OK Logged in."


@pytest_twisted.inlineCallbacks
def test_deletions_happen_only_at_quit(pop3: Pop3Server) -> None:
    uids = pop3.deliver(message(1), message(2), message(3))

    def session() -> list[int]:
        client = pop3.client()
        client.dele(1)
        client.dele(3)
        during = [m.uid for m in pop3.inbox().messages()]
        client.quit()
        return during

    during = yield threads.deferToThread(session)
    assert during == uids
    assert [m.uid for m in pop3.inbox().messages()] == [uids[1]]


@pytest_twisted.inlineCallbacks
def test_a_dropped_connection_deletes_nothing(pop3: Pop3Server) -> None:
    uids = pop3.deliver(message(1), message(2))
    lock = pop3.user().mail_location

    def session() -> None:
        client = pop3.client()
        client.retr(2)
        client.dele(1)
        client.dele(2)
        client.sock.shutdown(socket.SHUT_RDWR)
        client.close()
        _until(lambda: not MaildropLock.held(lock))

    yield threads.deferToThread(session)
    inbox = pop3.inbox()
    assert [m.uid for m in inbox.messages()] == uids
    # What was retrieved is \Seen for IMAP all the same, as Dovecot does.
    flags = {m.uid: m.flags for m in inbox.messages()}
    assert SEEN in flags[uids[1]] and SEEN not in flags[uids[0]]
    assert all(DELETED not in f for f in flags.values())


@pytest_twisted.inlineCallbacks
def test_retr_marks_seen_and_top_does_not(pop3: Pop3Server) -> None:
    uids = pop3.deliver(message(1), message(2), message(3))

    def session() -> None:
        client = pop3.client()
        client.retr(1)
        client.top(2, 0)
        client.quit()

    yield threads.deferToThread(session)
    flags = [m.flags for m in pop3.inbox().messages()]
    assert [m.uid for m in pop3.inbox().messages()] == uids
    assert [SEEN in f for f in flags] == [True, False, False]


@pytest_twisted.inlineCallbacks
def test_the_message_list_is_fixed_at_login(pop3: Pop3Server) -> None:
    pop3.deliver(message(1))

    def session() -> tuple[tuple[int, int], tuple[int, int]]:
        client = pop3.client()
        first = client.stat()
        pop3.deliver(message(2))
        second = client.stat()
        client.quit()
        return first, second

    first, second = yield threads.deferToThread(session)
    assert first == second == (1, len(message(1)))
    assert len(pop3.inbox().messages()) == 2


@pytest_twisted.inlineCallbacks
def test_a_message_expunged_by_imap_meanwhile(pop3: Pop3Server) -> None:
    uids = pop3.deliver(message(1), message(2))

    def session() -> tuple[bytes, bytes]:
        client = pop3.client()
        inbox = pop3.inbox()
        inbox.store_flags([uids[0]], [DELETED], "add")
        inbox.expunge([uids[0]])
        try:
            client.retr(1)
        except poplib.error_proto as e:
            refusal = bytes(e.args[0])
        client.dele(1)
        return refusal, client.quit()

    refusal, quit_reply = yield threads.deferToThread(session)
    assert refusal == b"-ERR [SYS/PERM] Message was removed by another session."
    assert quit_reply == b"+OK Logging out, messages deleted."
    assert [m.uid for m in pop3.inbox().messages()] == [uids[1]]


@pytest_twisted.inlineCallbacks
def test_messages_flagged_deleted_by_imap_are_listed_like_dovecot(pop3: Pop3Server) -> None:
    uids = pop3.deliver(message(1), message(2))
    pop3.inbox().store_flags([uids[0]], [DELETED], "add")

    def session() -> tuple[int, int]:
        client = pop3.client()
        stat = client.stat()
        client.quit()
        return stat

    count, _ = yield threads.deferToThread(session)
    assert count == 2
    # QUIT without DELE leaves it for the IMAP client to expunge or undelete.
    assert [m.uid for m in pop3.inbox().messages()] == uids


def _uidl(pop3: Pop3Server) -> list[bytes]:
    client = pop3.client()
    _, lines, _ = client.uidl()
    client.quit()
    return list(lines)


@pytest_twisted.inlineCallbacks
def test_uidl_is_stable_across_imap_flag_changes(pop3: Pop3Server) -> None:
    uids = pop3.deliver(message(1), message(2), message(3))
    before = yield threads.deferToThread(_uidl, pop3)
    inbox = pop3.inbox()
    inbox.store_flags(uids, [SEEN, FLAGGED, "$Label1"], "add")
    inbox.store_flags(uids[:1], [SEEN], "remove")
    after = yield threads.deferToThread(_uidl, pop3)
    assert before == after
    assert len(before) == 3


@pytest_twisted.inlineCallbacks
def test_uidl_is_stable_across_a_restart(pop3: Pop3Server, pop3_factory: Any) -> None:
    pop3.deliver(message(1), message(2))
    before = yield threads.deferToThread(_uidl, pop3)
    # A new server on the same config and Maildir: new context, new store objects.
    restarted = pop3_factory(Path(pop3.ctx.config.path).parent)
    assert restarted.ctx.stores is not pop3.ctx.stores
    after = yield threads.deferToThread(_uidl, restarted)
    assert before == after


@pytest_twisted.inlineCallbacks
def test_sessions_of_different_users_run_side_by_side(pop3: Pop3Server) -> None:
    pop3.deliver(message(1))
    pop3.deliver(message(2), message(3), login=BOB)

    def stat(login: str) -> tuple[int, int]:
        client = pop3.client(login)
        result = client.stat()
        client.quit()
        return result

    results = yield defer.gatherResults(
        [threads.deferToThread(stat, ALICE), threads.deferToThread(stat, BOB)]
    )
    assert [r[0] for r in results] == [1, 2]
