"""Large messages: APPEND spools, FETCH streams from the file, byte-exact both ways."""

from __future__ import annotations

import io
import tracemalloc

import pytest
import pytest_twisted
from clients import ALICE, RawClient, login, ok
from support import listen
from twisted.internet import threads

from maa.context import ServerContext


def big_message(size: int) -> bytes:
    line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"
    body = line * (size // len(line))
    return b"From: bob@example.test\r\nSubject: big\r\n\r\n" + body


def fetch_size_streaming(raw: RawClient, command: bytes) -> tuple[int, bytes]:
    """Send a FETCH with one literal; read it without keeping it; return (size, first KB)."""
    raw.send(command)
    line = raw.line()
    assert line.endswith(b"}"), line
    size = int(line[line.rindex(b"{") + 1 : -1])
    left, head = size, b""
    data, raw.buf = raw.buf, b""
    while True:
        take = data[:left]
        if len(head) < 1024:
            head += take[: 1024 - len(head)]
        left -= len(take)
        if left == 0:
            raw.buf = data[len(take) :]
            break
        data = raw.sock.recv(65536)
        assert data
    return size, head


@pytest_twisted.inlineCallbacks
def test_append_and_fetch_a_large_message_byte_exact(ctx: ServerContext) -> None:
    from maa.imap.server import build_factory

    port = listen(build_factory(ctx, implicit_tls=False))
    message = big_message(3 * 1024 * 1024)

    def client() -> None:
        m = login(port)
        ok(m.append("INBOX", None, None, message))
        ok(m.select("INBOX"))
        data = ok(m.fetch("1", "(RFC822.SIZE BODY.PEEK[])"))
        assert data[0][1] == message  # type: ignore[index]
        assert b"RFC822.SIZE %d" % len(message) in data[0][0]  # type: ignore[index]
        data = ok(m.fetch("1", "BODY.PEEK[]<1000000.65536>"))
        assert data[0][1] == message[1000000:1065536]  # type: ignore[index]
        data = ok(m.fetch("1", "BODY.PEEK[]<3145000.99999>"))
        assert data[0][1] == message[3145000:]  # type: ignore[index]
        # Thunderbird's way: 64 KiB partial fetches, up to the end and past it
        for offset in (0, 65536, 131072, len(message) - 1000, len(message) + 10):
            data = ok(m.fetch("1", f"BODY.PEEK[]<{offset}.65536>"))
            assert isinstance(data[0], tuple)
            assert data[0][1] == message[offset : offset + 65536]
        data = ok(m.fetch("1", "RFC822"))  # streamed, then \Seen reported
        assert data[0][1] == message  # type: ignore[index]
        assert b"\\Seen" in b"".join(x if isinstance(x, bytes) else x[0] for x in data)  # type: ignore[misc]
        m.logout()

    yield threads.deferToThread(client)


@pytest.mark.slow
@pytest_twisted.inlineCallbacks
def test_fetch_of_a_large_message_does_not_load_it_in_memory(ctx: ServerContext) -> None:
    from maa.imap.server import build_factory

    port = listen(build_factory(ctx, implicit_tls=False))
    size = 12 * 1024 * 1024
    message = big_message(size)
    user = ctx.userdb.lookup(ALICE)
    assert user is not None
    store = ctx.stores.open(user)
    store.ensure_defaults()
    store.folder("INBOX").append(io.BytesIO(message))
    del message

    def client() -> int:
        raw = RawClient(port)
        raw.command(b"a", b"LOGIN alice@example.test secret")
        raw.command(b"b", b"SELECT INBOX")
        got, head = fetch_size_streaming(raw, b"c FETCH 1 BODY.PEEK[]\r\n")
        assert head.startswith(b"From: bob@example.test")
        assert raw.until_tagged(b"c")[-1].startswith(b"c OK")
        raw.close()
        return got

    tracemalloc.start()
    try:
        got = yield threads.deferToThread(client)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got >= size
    assert peak < size // 3, f"peak {peak} bytes for a {size}-byte message"
