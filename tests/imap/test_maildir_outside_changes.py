"""A session on a Maildir INBOX hears, at its next command, of what another writer did to
the files right after the session's own STORE: within the same second, when the directory
mtime alone cannot tell (the session syncs once per command and trusts only its own
renames)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted
from clients import MESSAGE, RawClient
from support import listen
from twisted.internet import threads

from maa.context import ServerContext
from maa.storage.maildir import uidlist


@pytest.fixture
def port(ctx: ServerContext) -> Iterator[int]:
    from maa.imap.server import build_factory

    assert ctx.config.mail.location.startswith("maildir:")
    yield listen(build_factory(ctx, implicit_tls=False))


def maildir(ctx: ServerContext) -> Path:
    return ctx.config.path.parent / "var" / "mail" / "example.test" / "alice"


def selected(port: int, count: int) -> RawClient:
    raw = RawClient(port)
    raw.command(b"l", b"LOGIN alice@example.test secret")
    for _ in range(count):
        raw.command(b"p", b"APPEND INBOX {%d+}\r\n%s" % (len(MESSAGE), MESSAGE))
    raw.command(b"s", b"SELECT INBOX")
    return raw


def cur_file(root: Path, index: int) -> Path:
    """The ``index``-th message file in the order of delivery (UID ``index + 1`` here),
    found through dovecot-uidlist: names do not sort in delivery order (the microseconds
    in them are not zero-padded)."""
    current = uidlist.load(root / uidlist.FILENAME)
    assert current is not None
    base = current.records[index + 1]
    (found,) = [path for path in (root / "cur").iterdir() if path.name.split(":2,")[0] == base]
    return found


def told_flags(lines: list[bytes]) -> dict[int, set[bytes]]:
    """The flags each message was last said to have (a later line overrides an earlier
    one), without \\Recent, which only the first session to look gets."""
    told: dict[int, set[bytes]] = {}
    for line in lines:
        match = re.match(rb"\* (\d+) FETCH \(FLAGS \(([^)]*)\)\)$", line)
        if match:
            told[int(match[1])] = set(match[2].split()) - {b"\\Recent"}
    return told


def outside_flag(path: Path, letters: str) -> None:
    os.rename(path, path.with_name(path.name.partition(":2,")[0] + ":2," + letters))


@pytest_twisted.inlineCallbacks
def test_outside_rename_right_after_our_store_is_told_at_the_next_command(
    ctx: ServerContext, port: int
) -> None:
    def client() -> None:
        raw = selected(port, 3)
        root = maildir(ctx)
        stored = raw.command(b"a", b"UID STORE 1 +FLAGS (\\Seen)")
        assert stored[-1].startswith(b"a OK")
        outside_flag(cur_file(root, 1), "F")  # as Dovecot would, the same second
        lines = raw.command(b"b", b"NOOP")
        assert told_flags(lines) == {2: {b"\\Flagged"}}, lines
        # Once told, not told again.
        assert raw.command(b"c", b"NOOP") == [b"c OK NOOP completed"]
        raw.close()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_outside_delivery_and_expunge_right_after_our_store(ctx: ServerContext, port: int) -> None:
    def client() -> None:
        raw = selected(port, 3)
        root = maildir(ctx)
        raw.command(b"a", b"UID STORE 2 +FLAGS.SILENT (\\Seen)")
        os.unlink(cur_file(root, 2))
        (root / "new" / "1700000000.M9P9.elsewhere").write_bytes(MESSAGE.replace(b"\r\n", b"\n"))
        lines = raw.command(b"b", b"NOOP")
        # The new message first (EXISTS counts the one still to be expunged), then the
        # expunge, as RFC 3501 7.4.1 orders them.
        assert [line for line in lines if b"EXISTS" in line or b"EXPUNGE" in line] == [
            b"* 4 EXISTS",
            b"* 3 EXPUNGE",
        ], lines
        fetched = raw.command(b"c", b"FETCH 1:* (FLAGS)")
        assert told_flags(fetched) == {1: set(), 2: {b"\\Seen"}, 3: set()}, fetched
        raw.close()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_two_sessions_and_an_outside_writer_agree(ctx: ServerContext, port: int) -> None:
    def client() -> None:
        a = selected(port, 4)
        b = RawClient(port)
        b.command(b"l", b"LOGIN alice@example.test secret")
        b.command(b"s", b"SELECT INBOX")
        root = maildir(ctx)
        a.command(b"a1", b"STORE 1 +FLAGS.SILENT (\\Answered)")
        outside_flag(cur_file(root, 3), "S")
        b.command(b"b1", b"STORE 2 +FLAGS.SILENT (\\Flagged)")
        want = {1: {b"\\Answered"}, 2: {b"\\Flagged"}, 3: set(), 4: {b"\\Seen"}}
        for raw in (a, b, a, b):  # the second round: what each was told stays
            lines = raw.command(b"f", b"FETCH 1:4 (FLAGS)")
            assert told_flags(lines) == want, lines
        a.close()
        b.close()

    yield threads.deferToThread(client)
