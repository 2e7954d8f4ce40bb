"""LMTP under load: a 20 MB message with flat memory, and 50 clients into one Maildir."""

from __future__ import annotations

import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import pytest_twisted
import support
from lmtp_client import lmtp_send, maildir_files, stream_message

from maa.context import ServerContext


@pytest.fixture
def port(ctx: ServerContext) -> int:
    from maa.lmtp.server import build_factory

    return support.listen(build_factory(ctx, implicit_tls=False))


@pytest_twisted.inlineCallbacks
def test_20mb_message_keeps_memory_flat(ctx: ServerContext, port: int) -> Any:
    from twisted.internet import threads

    size = 20 * 1024 * 1024
    line = b"0123456789abcdef" * 4 + b"\r\n"
    tracemalloc.start()
    try:
        wire = yield threads.deferToThread(stream_message, port, "alice@example.test", size, line)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert wire.count(b"Saved") == 1, wire
    assert peak < size / 4, f"peak {peak} bytes while receiving {size}"
    user = ctx.userdb.lookup("alice@example.test")
    assert user is not None
    (path,) = maildir_files(support.Path(user.mail_location.split(":", 1)[1]))
    on_disk = path.stat().st_size
    assert on_disk > size * 0.95  # all of it, stored with LF line ends


@pytest_twisted.inlineCallbacks
def test_50_concurrent_clients_into_one_maildir(ctx: ServerContext, port: int) -> Any:
    from twisted.internet import threads

    clients = 50

    def one(i: int) -> tuple[int, bytes]:
        message = b"Subject: n%d\r\n\r\nmessage number %d\r\n" % (i, i)
        result = lmtp_send(port, "s@example.test", ["alice@example.test"], message)
        return result["alice@example.test"]

    def storm() -> list[tuple[int, bytes]]:
        # Its own threads: the reactor's pool must stay free for the server's deliveries.
        with ThreadPoolExecutor(clients) as pool:
            return list(pool.map(one, range(clients)))

    results = yield threads.deferToThread(storm)
    assert [code for code, _ in results] == [250] * clients
    user = ctx.userdb.lookup("alice@example.test")
    assert user is not None
    box = ctx.stores.open(user).folder("INBOX")
    box.refresh()
    infos = box.messages()
    uids = [m.uid for m in infos]
    assert len(uids) == clients == len(set(uids))
    bodies = sorted(box.read(uid).rsplit(b"\r\n\r\n", 1)[1] for uid in uids)
    assert bodies == sorted(b"message number %d\r\n" % i for i in range(clients))
    assert len(maildir_files(support.Path(user.mail_location.split(":", 1)[1]))) == clients
