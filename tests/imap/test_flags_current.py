"""FETCH FLAGS and STORE answer with the flags a message has now, after another session or
another process changed them: the command's storage sync runs before it, not after it. An
answer from the state of the previous command, corrected by an untagged FETCH after it,
was one command stale (and told each change twice). Flag changes to messages the command
does not answer for are still told in the same response.

Over imaplib on the Maildir driver, with an outside writer renaming files as Dovecot or
mbsync would."""

from __future__ import annotations

import imaplib
import os
import re
from pathlib import Path

import pytest_twisted
from clients import ALICE, MESSAGE, ok
from support import PASSWORD, listen
from twisted.internet import threads

from maa.context import ServerContext


def serve(ctx: ServerContext) -> int:
    from maa.imap.server import build_factory

    assert ctx.config.mail.location.startswith("maildir:")
    return listen(build_factory(ctx, implicit_tls=False))


def session(port: int) -> imaplib.IMAP4:
    m = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    ok(m.login(ALICE, PASSWORD))
    return m


def numbered(n: int) -> bytes:
    return b"X-Number: %d\r\n" % n + MESSAGE


def message_file(ctx: ServerContext, n: int) -> Path:
    """The file of the ``n``-th message appended (file names need not sort in that order)."""
    root = ctx.config.path.parent / "var" / "mail" / "example.test" / "alice"
    wanted = b"X-Number: %d\n" % n
    [path] = [
        p for p in (root / "cur").iterdir() if p.read_bytes().replace(b"\r", b"").startswith(wanted)
    ]
    return path


def outside_flags(path: Path, letters: str) -> None:
    os.rename(path, path.with_name(path.name.partition(":2,")[0] + ":2," + letters))


def fetches(data: list[object]) -> list[tuple[int, set[str]]]:
    """(number, flags without \\Recent) of each FETCH line, in the order sent."""
    out = []
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        assert isinstance(line, bytes)
        match = re.match(rb"(\d+) \(.*FLAGS \(([^)]*)\)", line)
        if match:
            flags = set(match[2].decode().split()) - {"\\Recent"}
            out.append((int(match[1]), flags))
    return out


def untagged_fetches(m: imaplib.IMAP4) -> list[tuple[int, set[str]]]:
    _, data = m.response("FETCH")
    return fetches([d for d in data if d is not None])


def three_messages(port: int) -> imaplib.IMAP4:
    a = session(port)
    for n in (1, 2, 3):
        ok(a.append("INBOX", None, None, numbered(n)))
    ok(a.select("INBOX"))
    return a


@pytest_twisted.inlineCallbacks
def test_fetch_after_another_session_stored_answers_current_flags(ctx: ServerContext) -> None:
    port = serve(ctx)

    def client() -> None:
        a = three_messages(port)
        b = session(port)
        ok(b.select("INBOX"))
        ok(a.uid("STORE", "1", "+FLAGS", "(\\Seen)"))
        ok(b.uid("STORE", "1", "+FLAGS", "(\\Flagged)"))
        # One answer per message, with the flags it has now: no stale line first.
        assert fetches(ok(a.fetch("1:3", "(FLAGS)"))) == [
            (1, {"\\Seen", "\\Flagged"}),
            (2, set()),
            (3, set()),
        ]
        ok(a.noop())
        assert untagged_fetches(a) == []  # told once, not again
        a.logout()
        b.logout()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_noop_after_uid_store_and_an_outside_change(ctx: ServerContext) -> None:
    port = serve(ctx)

    def client() -> None:
        a = three_messages(port)
        ok(a.uid("STORE", "2", "+FLAGS", "(\\Answered)"))
        outside_flags(message_file(ctx, 2), "DRS")  # the same second as our own rename
        ok(a.noop())
        assert untagged_fetches(a) == [(2, {"\\Answered", "\\Draft", "\\Seen"})]
        ok(a.noop())
        assert untagged_fetches(a) == []
        a.logout()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_uid_fetch_after_an_outside_change_is_current_and_tells_the_rest(
    ctx: ServerContext,
) -> None:
    port = serve(ctx)

    def client() -> None:
        a = three_messages(port)
        ok(a.uid("STORE", "1", "+FLAGS", "(\\Seen)"))
        outside_flags(message_file(ctx, 1), "FS")
        outside_flags(message_file(ctx, 3), "D")
        # Message 1 is answered with its new flags; message 3, which the command does not
        # ask for, is still told in the same response, once.
        data = ok(a.uid("FETCH", "1", "(FLAGS)"))
        assert fetches(data) == [(1, {"\\Seen", "\\Flagged"}), (3, {"\\Draft"})]
        ok(a.noop())
        assert untagged_fetches(a) == []
        a.logout()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_store_answers_with_flags_set_elsewhere(ctx: ServerContext) -> None:
    port = serve(ctx)

    def client() -> None:
        a = three_messages(port)
        b = session(port)
        ok(b.select("INBOX"))
        ok(b.store("1:2", "+FLAGS", "(\\Flagged)"))
        # \Seen is new on 1 and already there on 2: both answers carry \Flagged from b.
        assert fetches(ok(a.store("2", "+FLAGS", "(\\Seen)"))) == [
            (2, {"\\Flagged", "\\Seen"}),
            (1, {"\\Flagged"}),
        ]
        assert fetches(ok(a.store("2", "+FLAGS", "(\\Seen)"))) == [(2, {"\\Flagged", "\\Seen"})]
        a.logout()
        b.logout()

    yield threads.deferToThread(client)
