"""A QRESYNC round (RFC 7162 3.2.5) on the Maildir and mbox drivers, across a restart.

A client notes UIDVALIDITY, HIGHESTMODSEQ and its UIDs, and goes away. Meanwhile another
session changes flags, appends and expunges, and LMTP delivers while that session is open.
The server restarts (a new context: every store is read again from disk). The client comes
back with ``SELECT INBOX (QRESYNC (...))`` and must learn exactly what changed: its updated
copy must equal a full fetch of the folder.
"""

from __future__ import annotations

import imaplib
import re
import smtplib
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from clients import ALICE, MESSAGE
from imapclient import IMAPClient
from support import PASSWORD, listen, write_config
from twisted.internet import threads

from maa.config import load_config
from maa.context import ServerContext


@pytest.fixture(params=["maildir", "mbox"])
def store_ctx(request: pytest.FixtureRequest, tmp_path: Path) -> ServerContext:
    from twisted.internet import reactor

    from maa.service import build_context

    location = f"{request.param}:{tmp_path}/mail/%d/%n"
    config = load_config(write_config(tmp_path / "etc", mail={"location": location}))
    return build_context(config, reactor)


def uid_set(text: str) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition(":")
        out.update(range(int(low), int(high or low) + 1))
    return out


def flags_of(items: bytes) -> tuple[int, frozenset[str]]:
    uid = re.search(rb"UID (\d+)", items)
    flags = re.search(rb"FLAGS \(([^)]*)\)", items)
    assert uid and flags, items
    names = frozenset(f for f in flags.group(1).decode().split() if f != "\\Recent")
    return int(uid.group(1)), names


@pytest_twisted.inlineCallbacks
def test_qresync_round_gets_exactly_the_changes(store_ctx: ServerContext) -> None:
    from twisted.internet import reactor

    from maa.imap.server import build_factory
    from maa.lmtp.server import build_factory as lmtp_factory
    from maa.service import build_context

    ctx = store_ctx
    port = listen(build_factory(ctx, implicit_tls=False))
    lmtp_port = listen(lmtp_factory(ctx, implicit_tls=False))

    def first_visit() -> dict[str, Any]:
        with IMAPClient("127.0.0.1", port=port, ssl=False, timeout=10) as c:
            c.login(ALICE, PASSWORD)
            for n in range(8):
                c.append("INBOX", MESSAGE, flags=("\\Seen",) if n % 2 else ())
            c.enable("CONDSTORE")
            info = c.select_folder("INBOX")
            flags = c.get_flags(c.search("ALL"))
            return {
                "uidvalidity": info[b"UIDVALIDITY"],
                "modseq": info[b"HIGHESTMODSEQ"],
                "flags": {
                    uid: {f.decode() for f in fl} - {"\\Recent"} for uid, fl in flags.items()
                },
            }

    known = yield threads.deferToThread(first_visit)
    uids = sorted(known["flags"])
    assert len(uids) == 8

    def meanwhile() -> None:
        with IMAPClient("127.0.0.1", port=port, ssl=False, timeout=10) as c:
            c.login(ALICE, PASSWORD)
            c.select_folder("INBOX")
            c.add_flags([uids[1], uids[2]], ["\\Flagged"])
            c.remove_flags([uids[3]], ["\\Seen"])
            c.set_flags([uids[2], uids[5], uids[6]], ["\\Deleted"])
            c.uid_expunge([uids[2], uids[5], uids[6]])
            c.append("INBOX", MESSAGE)
            with smtplib.LMTP("127.0.0.1", lmtp_port) as lmtp:  # while this session is open
                lmtp.sendmail("bob@example.test", [ALICE], MESSAGE)
                lmtp.sendmail("bob@example.test", [ALICE], MESSAGE)
            c.noop()
            newest = max(c.search("ALL"))
            c.add_flags([newest], ["$Important"])

    yield threads.deferToThread(meanwhile)

    # The server restarts: a fresh context reads every store again from disk.
    restarted = build_context(ctx.config, reactor)
    port2 = listen(build_factory(restarted, implicit_tls=False))

    def come_back() -> None:
        m = imaplib.IMAP4("127.0.0.1", port2, timeout=10)
        m.login(ALICE, PASSWORD)
        m.enable("QRESYNC")
        known_uids = f"{uids[0]}:{uids[-1]}"
        typ, data = m._simple_command(
            "SELECT", "INBOX", f"(QRESYNC ({known['uidvalidity']} {known['modseq']} {known_uids}))"
        )
        assert typ == "OK", data
        m.state = "SELECTED"  # imaplib does not know SELECT was sent by hand
        vanished_lines = m.untagged_responses.pop("VANISHED", [])
        fetched = m.untagged_responses.pop("FETCH", [])
        assert [v.split(b" ", 1)[0] for v in vanished_lines] == [b"(EARLIER)"]
        vanished = set().union(*(uid_set(v.split()[1].decode()) for v in vanished_lines))
        assert vanished == {uids[2], uids[5], uids[6]}  # exactly the expunged ones
        changes = dict(flags_of(item) for item in fetched if isinstance(item, bytes))
        assert set(changes) == {uids[1], uids[3]}  # the changed survivors, nothing else
        # The client's copy, updated with what it was told ...
        model = {u: frozenset(f) for u, f in known["flags"].items() if u not in vanished}
        model.update(changes)
        # ... plus the messages above its last UID ...
        typ, data = m.uid("FETCH", f"{uids[-1] + 1}:*", "(UID FLAGS)")
        assert typ == "OK"
        new = dict(flags_of(item) for item in data if isinstance(item, bytes))
        assert len(new) == 3 and "$Important" in new[max(new)]
        model.update(new)
        # ... is the folder as it is.
        typ, data = m.uid("FETCH", "1:*", "(UID FLAGS)")
        assert dict(flags_of(item) for item in data if isinstance(item, bytes)) == model
        m.logout()

    yield threads.deferToThread(come_back)
