"""Two IMAP sessions on one Maildir INBOX and a real LMTP delivery: the idling session
(imapclient) hears EXISTS within a second or so, the other (imaplib) at its next command,
and each then hears of the other's flag change and expunge with its own numbering."""

from __future__ import annotations

import smtplib
import time
from typing import Any

import pytest_twisted
from clients import ALICE, MESSAGE, login, ok
from imapclient import IMAPClient
from support import PASSWORD, listen
from twisted.internet import threads

from maa.context import ServerContext

# IDLE_POLL_INTERVAL is one second; the watcher tells a delivery in this process sooner.
EXISTS_WITHIN = 2.5


def wait_for(c: IMAPClient, kind: bytes, timeout: float = 5) -> list[Any]:
    """Untagged IDLE responses until one of ``kind`` (EXISTS, FETCH, EXPUNGE) came."""
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    while not any(r[1] == kind for r in got):
        left = deadline - time.monotonic()
        assert left > 0, f"no {kind!r} within {timeout} s: {got}"
        got.extend(c.idle_check(timeout=left))
    return got


@pytest_twisted.inlineCallbacks
def test_two_sessions_and_an_lmtp_delivery(ctx: ServerContext) -> None:
    from maa.imap.server import build_factory as imap_factory
    from maa.lmtp.server import build_factory as lmtp_factory

    assert ctx.config.mail.location.startswith("maildir:")
    imap_port = listen(imap_factory(ctx, implicit_tls=False))
    lmtp_port = listen(lmtp_factory(ctx, implicit_tls=False))

    def client() -> None:
        b = login(imap_port)
        ok(b.append("INBOX", None, None, MESSAGE))
        assert ok(b.select("INBOX")) == [b"1"]
        with IMAPClient("127.0.0.1", port=imap_port, ssl=False, timeout=10) as a:
            a.login(ALICE, PASSWORD)
            assert a.select_folder("INBOX")[b"EXISTS"] == 1
            a.idle()
            started = time.monotonic()
            with smtplib.LMTP("127.0.0.1", lmtp_port) as lmtp:
                refused = lmtp.sendmail("bob@example.test", [ALICE], MESSAGE)
                assert refused == {}
            got = wait_for(a, b"EXISTS")
            assert time.monotonic() - started < EXISTS_WITHIN
            assert (2, b"EXISTS") in got

            # The other session hears of the delivery at its next command.
            ok(b.noop())
            assert b.response("EXISTS")[1][-1] == b"2"
            ok(b.store("2", "+FLAGS", "(\\Flagged)"))
            fetched = [r for r in wait_for(a, b"FETCH") if r[1] == b"FETCH"]
            seq, _, data = fetched[-1]
            assert seq == 2 and b"\\Flagged" in data[data.index(b"FLAGS") + 1]

            ok(b.store("1", "+FLAGS", "(\\Deleted)"))
            ok(b.expunge())
            assert (1, b"EXPUNGE") in wait_for(a, b"EXPUNGE")
            a.idle_done()
            # Both sessions now number the delivered message 1 (UID 2), with the flag b set.
            a.use_uid = False
            [(seq, item)] = a.fetch([1], ["UID", "FLAGS"]).items()
            assert (seq, item[b"UID"]) == (1, 2)
            assert set(item[b"FLAGS"]) - {b"\\Recent"} == {b"\\Flagged"}
        data = ok(b.fetch("1", "(UID FLAGS)"))
        assert data[0] in (b"1 (UID 2 FLAGS (\\Flagged))", b"1 (UID 2 FLAGS (\\Flagged \\Recent))")
        b.logout()

    yield threads.deferToThread(client)
