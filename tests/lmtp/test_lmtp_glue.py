"""The LMTP glue over Twisted's StringTransport and task.Clock: timeouts, a client that
goes away while its deliveries run, spool files cleaned up."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from maa.context import ServerContext
from maa.lmtp.server import IDLE_TIMEOUT, LmtpProtocol
from maa.lmtp.spool import MEMORY_LIMIT, SPOOL_PREFIX, Spool, remove_stale


def connect(ctx: ServerContext, clock: Clock | None = None) -> tuple[LmtpProtocol, StringTransport]:
    protocol = LmtpProtocol(ctx)
    if clock is not None:
        protocol.callLater = clock.callLater  # type: ignore[assignment]
    transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 40000))
    protocol.makeConnection(transport)
    return protocol, transport


def test_idle_client_is_dropped_with_421(ctx: ServerContext) -> None:
    clock = Clock()
    protocol, transport = connect(ctx, clock)
    assert transport.value().startswith(b"220 mail.example.test LMTP")
    protocol.dataReceived(b"LHLO c\r\n")
    clock.advance(IDLE_TIMEOUT - 1)
    protocol.dataReceived(b"NOOP\r\n")  # activity resets the clock
    clock.advance(IDLE_TIMEOUT - 1)
    assert not transport.disconnecting
    clock.advance(2)
    assert transport.value().endswith(b"421 4.4.2 Idle timeout, closing connection\r\n")
    assert transport.disconnecting
    protocol.connectionLost(None)


def test_quit_closes(ctx: ServerContext) -> None:
    protocol, transport = connect(ctx)
    protocol.dataReceived(b"QUIT\r\n")
    assert transport.value().endswith(b"221 2.0.0 mail.example.test Bye\r\n")
    assert transport.disconnecting
    protocol.connectionLost(None)


def wait_until(check: Any, timeout: float = 20.0) -> Any:
    from twisted.internet import reactor, task

    deadline = time.monotonic() + timeout

    def poll() -> Any:
        if check() or time.monotonic() > deadline:
            return None
        return task.deferLater(reactor, 0.02, poll)

    return poll()


@pytest_twisted.inlineCallbacks
def test_client_gone_during_delivery_still_saves_and_cleans_the_spool(
    ctx: ServerContext,
) -> Any:
    protocol, transport = connect(ctx)
    body = b"x" * 100 + b"\r\n"
    big = body * (MEMORY_LIMIT // len(body) + 100)  # rolls over to a spool file
    protocol.dataReceived(
        b"LHLO c\r\nMAIL FROM:<s@example.test>\r\nRCPT TO:<alice@example.test>\r\n"
        b"RCPT TO:<bob@example.test>\r\nDATA\r\nSubject: gone\r\n\r\n"
    )
    protocol.dataReceived(big)
    spool_dir = Path(ctx.config.server.data_dir) / "tmp"
    assert any(p.name.startswith(SPOOL_PREFIX) for p in spool_dir.iterdir())
    protocol.dataReceived(b".\r\n")
    protocol.connectionLost(None)  # the client hangs up while both deliveries run

    def delivered() -> bool:
        counts = []
        for login in ("alice@example.test", "bob@example.test"):
            user = ctx.userdb.lookup(login)
            assert user is not None
            box = ctx.stores.open(user).folder("INBOX")
            box.refresh()
            counts.append(len(box.messages()))
        return counts == [1, 1] and not any(spool_dir.iterdir())

    yield wait_until(delivered)
    assert delivered()
    assert b"Saved" not in transport.value()  # nothing is written to a closed connection


def test_spool_keeps_small_messages_in_memory_and_rolls_big_ones(tmp_path: Path) -> None:
    small = Spool(tmp_path)
    small.write(b"abc")
    small.finish()
    assert small.path is None and small.open().read() == b"abc"
    big = Spool(tmp_path)
    for _ in range(3):
        big.write(b"y" * (MEMORY_LIMIT // 2))
    big.finish()
    assert big.path is not None and big.path.exists()
    with big.open() as one, big.open() as two:
        assert one.read(10) == two.read(10) == b"y" * 10  # independent readers
    big.discard()
    assert list(tmp_path.iterdir()) == []


def test_stale_spool_files_are_removed(tmp_path: Path) -> None:
    import os

    old = tmp_path / (SPOOL_PREFIX + "old")
    new = tmp_path / (SPOOL_PREFIX + "new")
    other = tmp_path / "keep-me"
    for p in (old, new, other):
        p.write_bytes(b"x")
    os.utime(old, (time.time() - 3 * 24 * 3600,) * 2)
    os.utime(other, (time.time() - 3 * 24 * 3600,) * 2)
    assert remove_stale(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([new.name, other.name])
