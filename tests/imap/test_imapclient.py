"""The imapclient library (what many Python mail tools use) against maa, on the Maildir
driver the real server uses, plus a real LMTP delivery seen by an IDLE session."""

from __future__ import annotations

import smtplib
from typing import Any

import pytest_twisted
from clients import ALICE, MESSAGE, MULTIPART
from imapclient import IMAPClient
from support import PASSWORD, client_ssl_context, listen
from twisted.internet import threads

from maa.context import ServerContext


@pytest_twisted.inlineCallbacks
def test_imapclient_session_on_maildir(ctx: ServerContext) -> None:
    from maa.imap.server import build_factory

    assert ctx.config.mail.location.startswith("maildir:")
    port = listen(build_factory(ctx, implicit_tls=False))

    def client() -> None:
        with IMAPClient("127.0.0.1", port=port, ssl=False, timeout=10) as c:
            assert c.has_capability("IDLE") and c.has_capability("MOVE")
            c.starttls(client_ssl_context())
            c.login(ALICE, PASSWORD)
            assert c.namespace().personal == (("", "."),)
            assert c.enable("CONDSTORE") == [b"CONDSTORE"]
            assert c.id_({"name": "imapclient"})[0][:2] == (b"name", b"maa")
            folders = {name: flags for flags, _, name in c.list_folders()}
            assert b"\\Sent" in folders["Sent"] and "INBOX" in folders
            assert c.find_special_folder(b"\\Trash") == "Trash"
            c.create_folder("Projekte/Größe".replace("/", "."))
            assert "Projekte.Größe" in {name for _, _, name in c.list_folders()}
            result = c.append("INBOX", MESSAGE, flags=[b"$Label1"])
            assert b"[APPENDUID" in result
            c.append("INBOX", MULTIPART)
            info = c.select_folder("INBOX")
            assert info[b"EXISTS"] == 2 and b"\\*" in info[b"PERMANENTFLAGS"]
            uids = c.search(["SUBJECT", "parts"])
            assert uids == [2]
            data = c.fetch([1, 2], ["FLAGS", "RFC822.SIZE", "ENVELOPE", "BODY.PEEK[]"])
            assert data[1][b"BODY[]"] == MESSAGE
            assert data[2][b"RFC822.SIZE"] == len(MULTIPART)
            assert data[1][b"ENVELOPE"].subject == b"=?utf-8?q?Gr=C3=BC=C3=9Fe?= from Bob"
            assert b"$Label1" in data[1][b"FLAGS"]
            c.add_flags([2], [b"\\Flagged", b"$Junk"])
            assert set(c.get_flags([2])[2]) >= {b"\\Flagged", b"$Junk"}
            c.remove_flags([2], [b"$Junk"])
            assert b"$Junk" not in c.get_flags([2])[2]
            c.copy([1], "Trash")
            c.move([2], "Junk")
            assert c.folder_status("Junk", [b"MESSAGES"])[b"MESSAGES"] == 1
            assert c.search() == [1]
            c.delete_messages([1])
            c.uid_expunge([1])
            assert c.search() == []
            c.unselect_folder()
            c.rename_folder("Projekte.Größe", "Archiv")
            c.delete_folder("Archiv")
            c.logout()

    yield threads.deferToThread(client)


@pytest_twisted.inlineCallbacks
def test_idle_sees_a_real_lmtp_delivery(ctx: ServerContext) -> None:
    from maa.imap.server import build_factory as imap_factory
    from maa.lmtp.server import build_factory as lmtp_factory

    imap_port = listen(imap_factory(ctx, implicit_tls=False))
    lmtp_port = listen(lmtp_factory(ctx, implicit_tls=False))

    def client() -> list[Any]:
        with IMAPClient("127.0.0.1", port=imap_port, ssl=False, timeout=10) as c:
            c.login(ALICE, PASSWORD)
            c.select_folder("INBOX")
            c.idle()
            with smtplib.LMTP("127.0.0.1", lmtp_port) as lmtp:
                lmtp.sendmail("bob@example.test", [ALICE], MESSAGE)
            responses: list[Any] = []
            while not any(r[1] == b"EXISTS" for r in responses):
                got = c.idle_check(timeout=5)
                assert got, "no untagged response within 5 s"
                responses.extend(got)
            c.idle_done()
            return responses

    responses = yield threads.deferToThread(client)
    assert (1, b"EXISTS") in responses
