"""Regression: no mailbox name, in any command, reaches outside the user's mail root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest_twisted
from clients import ALICE, MESSAGE, RawClient
from support import listen
from twisted.internet import threads

from maa.context import ServerContext

HOSTILE = [
    b'"../../etc"',
    b'"../bob@example.test"',
    b'".."',
    b'"a/../../b"',
    b'"/etc/passwd"',
    b'"INBOX/../../x"',
    b'"a..b"',
    b'"&Ai4ALgAv-"',  # "..." and "/" hidden in modified UTF-7
    b'"x\\\\y"',
]


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest_twisted.inlineCallbacks
def test_hostile_names_are_refused_everywhere(ctx: ServerContext) -> None:
    from maa.imap.server import build_factory

    port = listen(build_factory(ctx, implicit_tls=False))
    user = ctx.userdb.lookup(ALICE)
    assert user is not None
    mail_root = Path(user.mail_location.partition(":")[2])
    data_dir = ctx.config.data_dir

    def client() -> None:
        raw = RawClient(port)
        raw.command(b"a", b"LOGIN alice@example.test secret")
        raw.command(b"b", b"APPEND INBOX {%d+}\r\n%s" % (len(MESSAGE), MESSAGE))
        before = tree(data_dir)
        raw.command(b"s", b"SELECT INBOX")
        for n, name in enumerate(HOSTILE):
            for command in (
                b"CREATE " + name,
                b"SELECT " + name,
                b"EXAMINE " + name,
                b"STATUS " + name + b" (MESSAGES)",
                b"DELETE " + name,
                b"RENAME INBOX " + name,
                b"RENAME " + name + b" Elsewhere",
                b"SUBSCRIBE " + name,
                b"COPY 1 " + name,
                b"MOVE 1 " + name,
                b"APPEND " + name + b" {%d+}\r\n%s" % (len(MESSAGE), MESSAGE),
            ):
                tag = b"t%d" % n
                reply = raw.command(tag, command)[-1]
                assert reply.startswith((tag + b" NO", tag + b" BAD")), (command, reply)
            # a failed SELECT leaves selected state; come back for COPY/MOVE next round
            raw.command(b"r", b"SELECT INBOX")
        after = tree(data_dir)
        outside = {p for p in after - before if not (data_dir / p).is_relative_to(mail_root)}
        assert not outside, outside
        assert b"(MESSAGES 1)" in raw.command(b"z", b"STATUS INBOX (MESSAGES)")[0]
        raw.close()

    yield threads.deferToThread(client)
    assert os.path.isdir(mail_root)
