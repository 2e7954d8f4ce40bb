"""The mbox driver behind a real ``maa serve``: LMTP delivers, IMAP and POP3 read, all over
sockets with the standard library's clients."""

from __future__ import annotations

import imaplib
import poplib
import smtplib
from pathlib import Path

import pytest
from support import PASSWORD, running_server

from maa.storage.mbox import MboxStore

MESSAGE = (
    b"From: Carol <carol@example.test>\r\n"
    b"To: alice@example.test\r\n"
    b"Subject: mbox end to end\r\n"
    b"\r\n"
    b"From the start of a line.\r\n"
    b">From a quoted one.\r\n"
    b"\r\n"
    b"From again, after an empty line.\r\n"
)


@pytest.mark.slow
def test_lmtp_imap_pop3_over_mbox(tmp_path: Path) -> None:
    with running_server(tmp_path, mail={"location": "mbox:mail/%d/%n"}) as server:
        with smtplib.LMTP("127.0.0.1", server.ports["lmtp"]) as lmtp:
            lmtp.sendmail("carol@example.test", ["alice@example.test"], MESSAGE)
            lmtp.sendmail("carol@example.test", ["alice@example.test"], MESSAGE)

        mbox = server.data_dir / "mail" / "example.test" / "alice" / "inbox"
        disk = mbox.read_bytes()
        assert disk.startswith(b"From carol@example.test ")  # the envelope sender
        # Bodies verbatim, as Dovecot writes them, kept whole by a Content-Length header.
        assert b"\n\nFrom the start of a line.\n>From a quoted one.\n" in disk
        assert b"\nContent-Length: " in disk
        assert b"\r" not in disk

        with imaplib.IMAP4("127.0.0.1", server.ports["imap"]) as imap:
            imap.login("alice@example.test", PASSWORD)
            typ, data = imap.select("INBOX")
            assert typ == "OK" and data == [b"2"]
            typ, fetched = imap.uid("FETCH", "1:*", "(BODY.PEEK[])")
            assert typ == "OK"
            bodies = [part[1] for part in fetched if isinstance(part, tuple)]
            assert len(bodies) == 2
            for body in bodies:
                assert body.endswith(MESSAGE)  # after the Return-Path etc. delivery adds
            typ, sizes = imap.uid("FETCH", "1", "(RFC822.SIZE)")
            assert typ == "OK" and b"RFC822.SIZE %d" % len(bodies[0]) in sizes[0]
            assert imap.uid("STORE", "1", "+FLAGS", "(\\Deleted)")[0] == "OK"
            assert imap.expunge()[0] == "OK"
            assert imap.create("Archive.2024")[0] == "OK"
            assert imap.uid("COPY", "2", "Archive.2024")[0] == "OK"

        pop = poplib.POP3("127.0.0.1", server.ports["pop3"])
        try:
            pop.user("alice@example.test")
            pop.pass_(PASSWORD)
            count, _ = pop.stat()
            assert count == 1
            _, lines, _ = pop.retr(1)
            assert b"\r\n".join(lines) + b"\r\n" == bodies[1]
            pop.quit()
        finally:
            pop.close()

    store = MboxStore(mbox.parent)
    assert [info.uid for info in store.folder("INBOX").messages()] == [2]
    assert store.folder("Archive.2024").read(1) == bodies[1]
