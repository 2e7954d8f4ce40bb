"""Drop-in with Dovecot's mbox: files Dovecot wrote keep their UIDVALIDITY, UIDs and flags in
maa, and Dovecot reads what maa appends. Drives the real ``doveadm`` (no daemon needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from maa.storage.interface import SEEN
from maa.storage.mbox import MboxStore

pytestmark = pytest.mark.integration

DOVEADM = shutil.which("doveadm")


class Doveadm:
    """``doveadm`` mail commands on one mbox directory, as an unprivileged user."""

    def __init__(self, base: Path) -> None:
        self.mail = base / "mail"
        home = base / "home"
        for directory in (self.mail, home, base / "run", base / "state"):
            directory.mkdir(parents=True)
        lines = [
            f"base_dir = {base / 'run'}",
            f"state_dir = {base / 'state'}",
            f"log_path = {base / 'dovecot.log'}",
            f"mail_location = mbox:{self.mail}:INBOX={self.mail / 'inbox'}",
            "ssl = no",
        ]
        if os.geteuid() == 0:  # Dovecot refuses mail access as root: use nobody
            lines += ["mail_uid = 65534", "mail_gid = 65534"]
            for directory in (self.mail, home):
                os.chown(directory, 65534, 65534)
        self.config = base / "dovecot.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.env = {**os.environ, "USER": "tester", "HOME": str(home)}

    def run(self, *args: str, stdin: bytes = b"") -> str:
        assert DOVEADM is not None
        done = subprocess.run(
            [DOVEADM, "-c", str(self.config), *args],
            input=stdin,
            capture_output=True,
            env=self.env,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode()


@pytest.fixture
def doveadm() -> Iterator[Doveadm]:
    if DOVEADM is None:
        pytest.skip("doveadm (Debian package dovecot-core) is not installed")
    # Not under pytest's tmp_path: its parents are mode 0700, and Dovecot drops to nobody.
    base = Path(tempfile.mkdtemp(prefix="maa-dovecot-"))
    try:
        base.chmod(0o755)
        yield Doveadm(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_mbox_written_by_dovecot_keeps_uids_flags_and_bodies(doveadm: Doveadm) -> None:
    for text in (
        b"Subject: one\n\nbody1\n",
        b"Subject: two\n\nFrom here, unquoted\n>From there\nbody2\n",
        b"Subject: three\n\nbody3\n",
        b"Subject: four\n\nbody4\n",
    ):
        doveadm.run("save", "-m", "INBOX", stdin=text)
    doveadm.run("flags", "add", "\\Seen $Work", "mailbox", "INBOX", "uid", "2")
    doveadm.run("expunge", "mailbox", "INBOX", "uid", "1")  # Dovecot rewrites the file
    status = doveadm.run("mailbox", "status", "uidvalidity uidnext", "INBOX")
    fields = dict(part.split("=") for part in status.split()[1:])

    inbox = MboxStore(doveadm.mail).folder("INBOX")
    assert inbox.status().uidvalidity == int(fields["uidvalidity"])
    assert inbox.status().uidnext == int(fields["uidnext"])
    infos = inbox.messages()
    assert [info.uid for info in infos] == [2, 3, 4]
    assert infos[0].flags == {SEEN, "$Work"}
    assert infos[1].flags == frozenset()
    # Byte for byte what was saved: Dovecot's state headers hidden, its bodies never unquoted.
    assert inbox.read(2) == b"Subject: two\r\n\r\nFrom here, unquoted\r\n>From there\r\nbody2\r\n"
    assert inbox.read(4) == b"Subject: four\r\n\r\nbody4\r\n"


def test_dovecot_reads_what_maa_appends(doveadm: Doveadm) -> None:
    store = MboxStore(doveadm.mail)
    inbox = store.folder("INBOX")
    inbox.append(b"Subject: from maa\r\n\r\nFrom the start\r\nline two\r\n")
    inbox.append(b"Subject: second\r\n\r\nbody\r\n")
    store.close()
    if os.geteuid() == 0:
        for name in os.listdir(doveadm.mail):
            os.chown(doveadm.mail / name, 65534, 65534)
    listing = doveadm.run("fetch", "hdr.subject body", "mailbox", "INBOX", "all")
    assert "hdr.subject: from maa" in listing
    assert "hdr.subject: second" in listing
    # maa leaves the body as it was, as Dovecot does; Dovecot shows it unchanged.
    assert "\nFrom the start\nline two\n" in listing and ">From" not in listing


def test_dovecot_and_maa_appending_at_once_lose_nothing(doveadm: Doveadm) -> None:
    # Dovecot locks an mbox with fcntl and a dotlock too (mbox_write_locks = fcntl dotlock).
    owner = (65534, 65534) if os.geteuid() == 0 else None
    store = MboxStore(doveadm.mail, owner)
    inbox = store.folder("INBOX")
    inbox.append(b"Subject: first\r\n\r\nx\r\n")
    failures: list[BaseException] = []

    def maa_appends() -> None:
        try:
            for n in range(60):
                inbox.append(b"Subject: maa %d\r\n\r\nbody %d\r\n" % (n, n))
        except BaseException as error:
            failures.append(error)

    writer = threading.Thread(target=maa_appends)
    writer.start()
    try:
        for n in range(10):
            doveadm.run("save", "-m", "INBOX", stdin=b"Subject: dovecot %d\n\nbody %d\n" % (n, n))
    finally:
        writer.join(120)
    assert not writer.is_alive() and not failures, failures
    inbox.refresh()
    subjects = sorted(inbox.read(m.uid).split(b"\r\n", 1)[0] for m in inbox.messages())
    expected = [b"Subject: first"]
    expected += [b"Subject: maa %d" % n for n in range(60)]
    expected += [b"Subject: dovecot %d" % n for n in range(10)]
    assert subjects == sorted(expected)
    assert len({m.uid for m in inbox.messages()}) == 71
    # maa's index, open right now, is no mailbox to Dovecot (nor a file it would lock).
    assert doveadm.run("mailbox", "list").split() == ["INBOX"]
    store.close()
    listing = doveadm.run("fetch", "hdr.subject", "mailbox", "INBOX", "all")
    assert sorted(
        line.split(": ", 1)[1].encode() for line in listing.splitlines() if line
    ) == sorted(s.removeprefix(b"Subject: ") for s in expected)
