"""``mbox:PATH:INBOX=SPOOL`` behind a real ``maa serve``: LMTP delivers into a spool file in
another directory, IMAP and POP3 read it back, other folders are made under PATH."""

from __future__ import annotations

import imaplib
import poplib
import smtplib
from pathlib import Path

import pytest
from support import PASSWORD, running_server

from maa.storage.mbox import MboxStore

MESSAGE = b"From: Carol <carol@example.test>\r\nSubject: to the spool\r\n\r\nFrom here on.\r\n"


@pytest.mark.slow
def test_lmtp_into_spool_read_by_imap_and_pop3(tmp_path: Path) -> None:
    location = "mbox:mail/%d/%n:INBOX=spool/%n"
    with running_server(tmp_path, mail={"location": location}) as server:
        spool = server.data_dir / "spool"
        spool.mkdir(parents=True)
        with smtplib.LMTP("127.0.0.1", server.ports["lmtp"]) as lmtp:
            lmtp.sendmail("carol@example.test", ["alice@example.test"], MESSAGE)
            lmtp.sendmail("carol@example.test", ["alice@example.test"], MESSAGE)
        inbox = spool / "alice"
        assert inbox.read_bytes().startswith(b"From carol@example.test ")
        assert not (spool / "alice.lock").exists()  # the dotlock beside it, released
        root = server.maildir("alice")
        assert not (root / "inbox").exists()

        with imaplib.IMAP4("127.0.0.1", server.ports["imap"]) as imap:
            imap.login("alice@example.test", PASSWORD)
            typ, data = imap.select("INBOX")
            assert typ == "OK" and data == [b"2"]
            typ, fetched = imap.uid("FETCH", "1", "(BODY.PEEK[])")
            assert typ == "OK" and fetched[0][1].endswith(MESSAGE)
            assert imap.create("Archive.2024")[0] == "OK"
            assert imap.uid("COPY", "1", "Archive.2024")[0] == "OK"
            assert imap.uid("STORE", "1", "+FLAGS", "(\\Deleted)")[0] == "OK"
            assert imap.expunge()[0] == "OK"
        assert (root / "Archive" / "2024").is_file()
        assert (root / "Sent").is_file()  # the default folders under PATH too
        assert inbox.read_bytes().count(b"From carol@example.test ") == 1  # one left

        pop = poplib.POP3("127.0.0.1", server.ports["pop3"])
        try:
            pop.user("alice@example.test")
            pop.pass_(PASSWORD)
            assert pop.stat()[0] == 1
            _, lines, _ = pop.retr(1)
            assert (b"\r\n".join(lines) + b"\r\n").endswith(MESSAGE)
            pop.quit()
        finally:
            pop.close()

    store = MboxStore(root, inbox=inbox)
    assert [info.uid for info in store.folder("INBOX").messages()] == [2]
    assert store.folder("Archive.2024").read(1).endswith(MESSAGE)


def test_rename_inbox_empties_the_spool_in_place(tmp_path: Path) -> None:
    spool = tmp_path / "spool" / "alice"
    store = MboxStore(tmp_path / "mail", inbox=spool)
    uid = store.folder("INBOX").append(MESSAGE)
    inode = spool.stat().st_ino
    store.rename_folder("INBOX", "Old")
    assert spool.stat().st_ino == inode and spool.stat().st_size == 0
    assert [info.uid for info in store.folder("Old").messages()] == [uid]
    assert store.folder("Old").read(uid).endswith(MESSAGE)
    assert store.folder("INBOX").messages() == []


def test_unwritable_spool_directory_fails_the_write(tmp_path: Path) -> None:
    import os

    from maa.storage import StorageError

    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "alice").write_bytes(b"")
    spool.chmod(0o555)
    try:
        store = MboxStore(tmp_path / "mail", inbox=spool / "alice")
        with pytest.raises(StorageError, match="dotlock"):
            store.folder("INBOX").append(MESSAGE)
        assert (spool / "alice").read_bytes() == b""
    finally:
        spool.chmod(0o755)
