"""Dovecot 2.3 and maa on the same Maildir: UIDs, UIDVALIDITY, flags, keywords, folders and
subscriptions survive a move in either direction (doveadm against a private dovecot)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from maa.storage import ANSWERED, DELETED, FLAGGED, INBOX, SEEN
from maa.storage.maildir import MaildirStore

pytestmark = pytest.mark.integration

Doveadm = Callable[..., str]


@pytest.fixture
def mail_home() -> Iterator[Path]:
    """A directory Dovecot's unprivileged user can reach (pytest's tmp dirs are 0700 root)."""
    with tempfile.TemporaryDirectory(prefix="maa-dovecot-") as tmp:
        path = Path(tmp)
        if os.geteuid() == 0:
            os.chown(path, 65534, 65534)
        yield path


@pytest.fixture
def doveadm(mail_home: Path) -> Iterator[Doveadm]:
    for program in ("dovecot", "doveadm"):
        if shutil.which(program) is None:
            pytest.skip(f"{program} is not installed (Debian package dovecot-core)")
    uid, gid = (65534, 65534) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    tmp_path = mail_home
    conf = tmp_path / "dovecot.conf"
    conf.write_text(
        f"""
mail_location = maildir:{tmp_path}/Maildir
base_dir = {tmp_path}/run
state_dir = {tmp_path}/state
log_path = {tmp_path}/dovecot.log
protocols =
listen = 127.0.0.1
ssl = no
first_valid_uid = 0
passdb {{
  driver = static
  args = nopassword=y
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={tmp_path}/home
}}
"""
    )
    # The master daemonizes and its children inherit stdout/stderr: give it a file, not a
    # pipe, or reading its output would wait for the daemon to exit.
    errors = tmp_path / "dovecot.stderr"
    with open(errors, "wb") as err:
        command = ["dovecot", "-c", str(conf)]
        started = subprocess.run(
            command, stdin=subprocess.DEVNULL, stdout=err, stderr=err, timeout=30
        )
    if started.returncode != 0:
        pytest.skip(f"cannot start a private dovecot: {errors.read_text().strip()}")

    def run(*args: str, stdin: bytes | None = None) -> str:
        result = subprocess.run(
            ["doveadm", "-c", str(conf), *args], input=stdin, capture_output=True, timeout=60
        )
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout.decode()

    try:
        yield run
    finally:
        subprocess.run(
            ["dovecot", "-c", str(conf), "stop"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
        )


def fetch_flags(doveadm: Doveadm, mailbox: str = INBOX) -> dict[int, set[str]]:
    out = doveadm("-f", "tab", "fetch", "-u", "user", "uid flags", "mailbox", mailbox, "all")
    result = {}
    for line in out.splitlines()[1:]:
        uid, _, flags = line.partition("\t")
        result[int(uid)] = set(flags.split()) - {"\\Recent"}
    return result


def mailbox_status(doveadm: Doveadm, mailbox: str) -> dict[str, int]:
    out = doveadm("-f", "tab", "mailbox", "status", "-u", "user", "uidvalidity uidnext", mailbox)
    names, values = out.splitlines()[:2]
    pairs = zip(names.split("\t"), values.split("\t"), strict=True)
    return {k: int(v) for k, v in pairs if v.isdigit()}


def owner_of(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_uid, st.st_gid


def test_dovecot_maildir_opened_by_maa_and_back(doveadm: Doveadm, mail_home: Path) -> None:
    for n in (1, 2, 3):
        message = b"From: a@example.test\nSubject: %d\n\nbody %d\n" % (n, n)
        doveadm("save", "-u", "user", stdin=message)
    doveadm("mailbox", "create", "-u", "user", "Sent", "Ärger.sub")
    doveadm("mailbox", "subscribe", "-u", "user", "Sent", "Ärger.sub")
    doveadm("flags", "add", "-u", "user", "$Label1 \\Seen", "mailbox", INBOX, "uid", "1")
    flags = "\\Flagged Work \\Deleted"
    doveadm("flags", "add", "-u", "user", flags, "mailbox", INBOX, "uid", "2:3")
    doveadm("flags", "remove", "-u", "user", "\\Deleted", "mailbox", INBOX, "uid", "2")
    doveadm("expunge", "-u", "user", "mailbox", INBOX, "uid", "3")
    before = mailbox_status(doveadm, INBOX)

    # --- maa opens Dovecot's Maildir -------------------------------------------------------
    root = mail_home / "Maildir"
    store = MaildirStore(root, owner=owner_of(root))
    inbox = store.folder(INBOX)
    status = inbox.status()
    assert status.uidvalidity == before["uidvalidity"]
    assert status.uidnext == before["uidnext"] == 4
    assert {m.uid: m.flags for m in inbox.messages()} == {
        1: {SEEN, "$Label1"},
        2: {FLAGGED, "Work"},
    }
    assert inbox.read(2) == b"From: a@example.test\r\nSubject: 2\r\n\r\nbody 2\r\n"
    names = {f.name for f in store.list_folders()}
    assert {"Sent", "Ärger", "Ärger.sub"} <= names
    assert {"Sent", "Ärger.sub"} <= set(store.subscriptions())

    # --- maa changes it ---------------------------------------------------------------------
    new_uid = inbox.append(b"Subject: from maa\r\n\r\nhello\r\n", [SEEN, "$Label1", "NewKw"])
    inbox.store_flags([1], [ANSWERED], "add")
    inbox.store_flags([2], [DELETED], "add")
    assert inbox.expunge() == [2]
    store.create_folder("Projekte.Über")
    store.subscribe("Projekte.Über")
    store.folder("Sent").append(b"Subject: sent\r\n\r\nsent body\r\n", [SEEN])

    # --- Dovecot reads what maa wrote -------------------------------------------------------
    assert new_uid == 4
    assert fetch_flags(doveadm) == {
        1: {"\\Seen", "\\Answered", "$Label1"},
        4: {"\\Seen", "$Label1", "NewKw"},
    }
    text = doveadm("fetch", "-u", "user", "text", "mailbox", INBOX, "uid", "4")
    assert "Subject: from maa" in text and "hello" in text
    assert mailbox_status(doveadm, INBOX)["uidvalidity"] == before["uidvalidity"]
    listed = doveadm("mailbox", "list", "-u", "user").split()
    assert "Projekte.Über" in listed
    subscribed = doveadm("mailbox", "list", "-u", "user", "-s").split()
    assert "Projekte.Über" in subscribed and "Sent" in subscribed
    assert fetch_flags(doveadm, "Sent") == {1: {"\\Seen"}}

    # --- and numbering carries on across both -----------------------------------------------
    doveadm("save", "-u", "user", stdin=b"Subject: 5\n\nfive\n")
    assert inbox.refresh() is True
    assert [m.uid for m in inbox.messages()] == [1, 4, 5]
    assert inbox.append(b"Subject: 6\r\n\r\nsix\r\n") == 6
    assert set(fetch_flags(doveadm)) == {1, 4, 5, 6}


def test_internal_date_matches_dovecot_received_date(doveadm: Doveadm, mail_home: Path) -> None:
    doveadm("save", "-u", "user", stdin=b"Subject: d\n\nd\n")
    root = mail_home / "Maildir"
    store = MaildirStore(root, owner=owner_of(root))
    when = 1_600_000_000
    store.folder(INBOX).append(b"Subject: dated\r\n\r\nx\r\n", internal_date=when)
    out = doveadm("-f", "tab", "fetch", "-u", "user", "uid date.received", "mailbox", INBOX, "all")
    received = {}
    for line in out.splitlines()[1:]:
        uid, _, date = line.partition("\t")
        received[int(uid)] = time.mktime(time.strptime(date, "%Y-%m-%d %H:%M:%S"))
    assert received[2] == when
    assert store.folder(INBOX).message(1).internal_date == received[1]


def fetch_fields(doveadm: Doveadm, fields: str, mailbox: str = INBOX) -> dict[int, list[str]]:
    out = doveadm("-f", "tab", "fetch", "-u", "user", f"uid {fields}", "mailbox", mailbox, "all")
    rows = {}
    for line in out.splitlines()[1:]:
        uid, *values = line.split("\t")
        rows[int(uid)] = values
    return rows


def test_maildir_made_by_maa_is_read_by_dovecot_unchanged(
    doveadm: Doveadm, mail_home: Path
) -> None:
    # maa makes the Maildir from nothing (a first delivery); Dovecot has never seen it.
    root = mail_home / "Maildir"
    store = MaildirStore(root, owner=owner_of(mail_home))
    store.ensure_defaults()
    inbox = store.folder(INBOX)
    messages = {
        inbox.append(b"Subject: one\r\n\r\nfirst\r\n", [SEEN, "Work"]): b"first",
        inbox.append(b"Subject: two\r\n\r\n8bit \xc3\xa4\r\nline\r\n", [FLAGGED]): b"two",
        inbox.append(b"Subject: three\r\n\r\nthird\r\n", ["$Label2", "Work", ANSWERED]): b"3",
    }
    inbox.store_flags([2], ["Later"], "add")
    assert sorted(messages) == [1, 2, 3]
    status = inbox.status()
    mine = {m.uid: m for m in inbox.messages()}
    sent = store.folder("Sent")
    sent.append(b"Subject: s\r\n\r\ns\r\n", [SEEN])

    # Dovecot keeps maa's UIDVALIDITY, UIDs, flags, keywords and sizes.
    assert mailbox_status(doveadm, INBOX) == {
        "uidvalidity": status.uidvalidity,
        "uidnext": status.uidnext,
    }
    assert fetch_flags(doveadm) == {
        1: {"\\Seen", "Work"},
        2: {"\\Flagged", "Later"},
        3: {"\\Answered", "$Label2", "Work"},
    }
    sizes = fetch_fields(doveadm, "size.virtual size.physical")
    for uid, info in mine.items():
        assert int(sizes[uid][0]) == info.size  # RFC822.SIZE agrees with Dovecot's
        assert int(sizes[uid][1]) == info.size - inbox.read(uid).count(b"\r\n")
    body = doveadm("fetch", "-u", "user", "body", "mailbox", INBOX, "uid", "2")
    assert "8bit ä" in body
    listed = doveadm("mailbox", "list", "-u", "user").split()
    assert {"INBOX", "Sent", "Drafts", "Trash", "Junk"} <= set(listed)
    assert {"Sent", "Drafts", "Trash", "Junk"} <= set(
        doveadm("mailbox", "list", "-u", "user", "-s").split()
    )
    assert fetch_flags(doveadm, "Sent") == {1: {"\\Seen"}}

    # Dovecot changes it; maa sees every change under the same UIDs.
    doveadm("flags", "add", "-u", "user", "Dove \\Deleted", "mailbox", INBOX, "uid", "1")
    doveadm("flags", "remove", "-u", "user", "Work", "mailbox", INBOX, "uid", "3")
    doveadm("expunge", "-u", "user", "mailbox", INBOX, "uid", "2")
    doveadm("save", "-u", "user", stdin=b"Subject: four\n\nfrom dovecot\n")
    inbox.refresh()
    assert {m.uid: m.flags for m in inbox.messages()} == {
        1: {SEEN, DELETED, "Work", "Dove"},
        3: {ANSWERED, "$Label2"},
        4: frozenset(),
    }
    assert inbox.read(4) == b"Subject: four\r\n\r\nfrom dovecot\r\n"
    assert inbox.status().uidvalidity == status.uidvalidity
    assert inbox.append(b"Subject: five\r\n\r\nfive\r\n", ["Dove"]) == 5
    assert fetch_flags(doveadm)[5] == {"Dove"}


def test_dovecot_and_maa_saving_at_once_never_share_a_uid(
    doveadm: Doveadm, mail_home: Path
) -> None:
    root = mail_home / "Maildir"
    store = MaildirStore(root, owner=owner_of(mail_home))
    store.ensure_defaults()
    inbox = store.folder(INBOX)
    mine: dict[int, str] = {}

    def maa_saves() -> None:
        for n in range(150):  # longer than the doveadm loop below takes
            mine[inbox.append(b"Subject: maa %d\r\n\r\nx\r\n" % n)] = f"maa {n}"

    writer = threading.Thread(target=maa_saves)
    writer.start()
    try:
        for n in range(15):  # each doveadm save takes dovecot-uidlist.lock as maa does
            doveadm("save", "-u", "user", stdin=b"Subject: dovecot %d\n\ny\n" % n)
    finally:
        writer.join(120)
    assert not writer.is_alive()
    dovecot_view = {
        uid: values[0].removeprefix("Subject: ")
        for uid, values in fetch_fields(doveadm, "hdr.subject").items()
    }
    inbox.refresh()
    maa_view = {
        m.uid: inbox.read(m.uid).split(b"\r\n", 1)[0].decode().removeprefix("Subject: ")
        for m in inbox.messages()
    }
    assert maa_view == dovecot_view
    assert len(maa_view) == 165
    assert all(maa_view[uid] == subject for uid, subject in mine.items())
