"""Every POP3 command through poplib against the in-process server over a real socket."""

from __future__ import annotations

import socket

import pytest_twisted
from pop3_support import ALICE, Pop3Server, message
from twisted.internet import threads


@pytest_twisted.inlineCallbacks
def test_every_command_through_poplib(pop3: Pop3Server) -> None:
    messages = [message(1), message(2, b".dot line\r\nsecond\r\nthird\r\n"), message(3)]
    uids = pop3.deliver(*messages)
    uidvalidity = pop3.inbox().status().uidvalidity

    def session() -> None:
        client = pop3.client(login=None)
        assert client.getwelcome() == b"+OK maa ready."
        caps = client.capa()
        for cap in ("TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE", "USER", "STLS"):
            assert cap in caps
        assert caps["SASL"] == ["PLAIN", "LOGIN"]
        assert caps["IMPLEMENTATION"] == ["maa"]
        assert client.user(ALICE) == b"+OK"
        assert client.pass_("secret") == b"+OK Logged in."
        sizes = [len(m) for m in messages]
        assert client.stat() == (3, sum(sizes))
        reply, lines, _ = client.list()
        assert reply == b"+OK 3 messages:"
        assert lines == [f"{i} {size}".encode() for i, size in enumerate(sizes, 1)]
        assert client.list(2) == f"+OK 2 {sizes[1]}".encode()
        reply, lines, _ = client.retr(2)
        assert reply == f"+OK {sizes[1]} octets".encode()
        assert b"\r\n".join(lines) + b"\r\n" == messages[1]
        reply, lines, _ = client.top(2, 1)
        assert lines == messages[1].split(b"\r\n")[:6]
        assert lines[-1] == b".dot line"
        reply, lines, _ = client.uidl()
        expected = [f"{i} {uid:08x}{uidvalidity:08x}".encode() for i, uid in enumerate(uids, 1)]
        assert lines == expected
        assert client.uidl(3) == b"+OK " + expected[2]
        assert client.noop() == b"+OK"
        assert client.dele(1) == b"+OK Marked to be deleted."
        assert client.stat() == (2, sizes[1] + sizes[2])
        assert client.rset().startswith(b"+OK")
        assert client.stat() == (3, sum(sizes))
        assert client.dele(3).startswith(b"+OK")
        assert client.quit() == b"+OK Logging out, messages deleted."

    yield threads.deferToThread(session)
    assert [m.uid for m in pop3.inbox().messages()] == uids[:2]


@pytest_twisted.inlineCallbacks
def test_errors_keep_the_session_going(pop3: Pop3Server) -> None:
    pop3.deliver(message(1))

    def session() -> list[bytes]:
        client = pop3.client()
        replies = []
        for command in ("RETR 9", "LIST 0", "DELE x", "TOP 1", "XYZZY", "USER bob"):
            try:
                client._shortcmd(command)
            except Exception as e:  # poplib raises error_proto for -ERR
                replies.append(e.args[0])
        assert client.stat() == (1, len(message(1)))
        client.quit()
        return replies

    replies = yield threads.deferToThread(session)
    assert replies == [
        b"-ERR There's no message 9.",
        b"-ERR There's no message 0.",
        b"-ERR Invalid message number: x",
        b"-ERR Missing argument.",
        b"-ERR Unknown command: XYZZY",
        b"-ERR USER is not valid in the TRANSACTION state.",
    ]


@pytest_twisted.inlineCallbacks
def test_failed_login_is_refused_with_the_auth_code(pop3: Pop3Server) -> None:
    def session() -> bytes:
        client = pop3.client(login=None)
        client.user(ALICE)
        try:
            client.pass_("wrong")
        except Exception as e:
            return bytes(e.args[0])
        finally:
            client.quit()
        raise AssertionError("logged in with a wrong password")

    assert (yield threads.deferToThread(session)) == b"-ERR [AUTH] Authentication failed."


def _raw_exchange(port: int, data: bytes, until: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        received = b""
        s.sendall(data)
        while not received.endswith(until):
            chunk = s.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


@pytest_twisted.inlineCallbacks
def test_pipelined_commands_are_answered_in_order(pop3: Pop3Server) -> None:
    pop3.deliver(message(1), message(2))
    commands = b"USER alice@example.test\r\nPASS secret\r\nSTAT\r\nRETR 1\r\nRETR 2\r\nQUIT\r\n"
    wire = yield threads.deferToThread(_raw_exchange, pop3.port, commands, b"+OK Logging out.\r\n")
    expected = (
        b"+OK maa ready.\r\n+OK\r\n+OK Logged in.\r\n"
        + f"+OK 2 {len(message(1)) + len(message(2))}\r\n".encode()
        + f"+OK {len(message(1))} octets\r\n".encode()
        + message(1)
        + b".\r\n"
        + f"+OK {len(message(2))} octets\r\n".encode()
        + message(2)
        + b".\r\n+OK Logging out.\r\n"
    )
    assert wire == expected


@pytest_twisted.inlineCallbacks
def test_an_over_long_line_gets_an_error_and_the_session_goes_on(pop3: Pop3Server) -> None:
    wire = yield threads.deferToThread(
        _raw_exchange, pop3.port, b"NOOP " + b"x" * 5000 + b"\r\nNOOP\r\nQUIT\r\n", b"out.\r\n"
    )
    assert wire == b"+OK maa ready.\r\n-ERR Line too long.\r\n+OK\r\n+OK Logging out.\r\n"


def _flood_during_retr(port: int, noops: int) -> tuple[bytes, int]:
    """RETR a large message and, without reading, pipeline a flood of NOOPs behind it."""
    import threading

    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        reader = s.makefile("rb", buffering=1 << 16)
        reader.readline()
        s.sendall(b"USER alice@example.test\r\nPASS secret\r\n")
        reader.readline()
        reader.readline()
        flood = b"RETR 1\r\n" + b"NOOP\r\n" * noops + b"QUIT\r\n"
        sender = threading.Thread(target=s.sendall, args=(flood,))
        sender.start()
        header = reader.readline()
        body = bytearray()
        while not body.endswith(b"\r\n.\r\n"):
            body += reader.readline()
        oks = 0
        while (line := reader.readline()) == b"+OK\r\n":
            oks += 1
        sender.join()
        assert line == b"+OK Logging out.\r\n", line
        return header, oks


@pytest_twisted.inlineCallbacks
def test_a_flood_pipelined_behind_a_large_retr_is_answered_in_order(pop3: Pop3Server) -> None:
    """A client that pipelines far more than MAX_PIPELINED_INPUT while a message streams:
    the server stops reading instead of buffering it all, and answers everything."""
    from maa.proto.pop3.limits import MAX_PIPELINED_INPUT

    big = message(1, b"x" * 76 + b"\r\n") + b"y" * 76 * 40_000 + b"\r\n"
    pop3.deliver(big)
    noops = 4 * MAX_PIPELINED_INPUT // len(b"NOOP\r\n")
    header, oks = yield threads.deferToThread(_flood_during_retr, pop3.port, noops)
    assert header == f"+OK {len(big)} octets\r\n".encode()
    assert oks == noops
