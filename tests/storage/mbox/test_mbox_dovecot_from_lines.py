"""``From `` lines in bodies, both ways between maa and Debian's Dovecot, byte for byte.

Dovecot 2.3 neither quotes nor unquotes ``From `` lines: it stores bodies verbatim and writes a
``Content-Length:`` header that tells readers where a body ends, and it hides its state
headers (Content-Length, Status, X-Status, X-Keywords, X-UID, X-IMAPbase, X-IMAP) from
clients. maa writes and reads the same way, so each shows exactly what the other saved.
Drives the real ``doveadm`` (no daemon needed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from maa.storage.mbox import MboxStore

pytestmark = pytest.mark.integration

DOVEADM = shutil.which("doveadm")
NOBODY = 65534

# Bodies that an mbox reader can get wrong: lines starting "From " (one shaped exactly like a
# separator, after an empty line), lines already quoted once or twice, "From" alone.
MESSAGES = [
    b"Subject: plain\n\nFrom here, unquoted\n>From there\n>>From further\nbody\n",
    b"Subject: separator-like\n\nbefore\n\nFrom alice@example.test Mon Nov  3 14:02:11 2025\n"
    b"after\n",
    b"Subject: edges\n\nFrom\n>From\nFromage\n>>>From deep\n\n\nFrom last\n",
    b"Subject: next\n\nbody of the next one\n",
]


class Doveadm:
    """``doveadm`` mail commands on one mbox directory (as nobody when run as root)."""

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
        if os.geteuid() == 0:  # Dovecot refuses mail access as root
            lines += [f"mail_uid = {NOBODY}", f"mail_gid = {NOBODY}"]
            for directory in (self.mail, home):
                os.chown(directory, NOBODY, NOBODY)
        self.config = base / "dovecot.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.env = {**os.environ, "USER": "tester", "HOME": str(home)}

    def run(self, *args: str, stdin: bytes = b"") -> bytes:
        assert DOVEADM is not None
        done = subprocess.run(
            [DOVEADM, "-c", str(self.config), *args],
            input=stdin,
            capture_output=True,
            env=self.env,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout

    def text(self, folder: str, uid: int) -> bytes:
        """The whole message as Dovecot shows it to clients (LF line ends)."""
        out = self.run("fetch", "text", "mailbox", folder, "uid", str(uid))
        assert out.startswith(b"text:\n")
        return out.removeprefix(b"text:\n")

    def virtual_size(self, folder: str, uid: int) -> int:
        out = self.run("fetch", "size.virtual", "mailbox", folder, "uid", str(uid))
        return int(out.split(b":", 1)[1])

    def uids(self, folder: str) -> list[int]:
        out = self.run("fetch", "uid", "mailbox", folder, "all")
        return [int(line[4:]) for line in out.splitlines() if line.startswith(b"uid:")]

    def give_files_to_dovecot(self) -> None:
        if os.geteuid() == 0:
            for path in [self.mail, *self.mail.rglob("*")]:
                os.chown(path, NOBODY, NOBODY)


@pytest.fixture
def dovecot() -> Iterator[Doveadm]:
    if DOVEADM is None:
        pytest.skip("doveadm (Debian package dovecot-core) is not installed")
    # Not under pytest's tmp_path: its parents are mode 0700, and Dovecot drops to nobody.
    base = Path(tempfile.mkdtemp(prefix="maa-dovecot-from-"))
    try:
        base.chmod(0o755)
        yield Doveadm(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def crlf(message: bytes) -> bytes:
    return message.replace(b"\n", b"\r\n")


def test_what_dovecot_saves_maa_reads_byte_exact(dovecot: Doveadm) -> None:
    for message in MESSAGES:
        dovecot.run("save", "-m", "INBOX", stdin=message)
    inbox = MboxStore(dovecot.mail).folder("INBOX")
    infos = inbox.messages()
    assert [info.uid for info in infos] == dovecot.uids("INBOX")
    for info, message in zip(infos, MESSAGES, strict=True):
        assert dovecot.text("INBOX", info.uid) == message  # Dovecot's own view
        assert inbox.read(info.uid) == crlf(message)
        assert info.size == len(crlf(message)) == dovecot.virtual_size("INBOX", info.uid)
        assert inbox.read(info.uid, 7, 20) == crlf(message)[7:27]


def test_what_maa_appends_dovecot_reads_byte_exact(dovecot: Doveadm) -> None:
    owner = (NOBODY, NOBODY) if os.geteuid() == 0 else None
    store = MboxStore(dovecot.mail, owner)
    inbox = store.folder("INBOX")
    uids = [inbox.append(crlf(message)) for message in MESSAGES]
    store.close()
    dovecot.give_files_to_dovecot()
    assert dovecot.uids("INBOX") == [1, 2, 3, 4]
    for n, message in enumerate(MESSAGES, start=1):
        assert dovecot.text("INBOX", n) == message
        assert dovecot.virtual_size("INBOX", n) == len(crlf(message))
    # Dovecot has now written its X-UID/X-IMAPbase headers into the file; maa still shows the
    # same bytes under the same UIDs.
    assert b"X-UID:" in (dovecot.mail / "inbox").read_bytes()
    again = MboxStore(dovecot.mail, owner).folder("INBOX")
    assert [info.uid for info in again.messages()] == uids
    for uid, message in zip(uids, MESSAGES, strict=True):
        assert again.read(uid) == crlf(message)
        assert again.message(uid).size == len(crlf(message))


def test_dovecot_to_maa_to_dovecot_round_trip(dovecot: Doveadm) -> None:
    for message in MESSAGES:
        dovecot.run("save", "-m", "INBOX", stdin=message)
    owner = (NOBODY, NOBODY) if os.geteuid() == 0 else None
    store = MboxStore(dovecot.mail, owner)
    store.create_folder("Copies")
    inbox = store.folder("INBOX")
    copies = store.folder("Copies")
    for info in inbox.messages():
        copies.append(inbox.read(info.uid))
    store.close()
    dovecot.give_files_to_dovecot()
    assert [dovecot.text("Copies", n) for n in dovecot.uids("Copies")] == MESSAGES
