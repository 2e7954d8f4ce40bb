"""mbox locking against Debian's ``dotlockfile`` (liblockfile-bin), the dotlock helper other
mail programs on the host use: maa waits for its lock, and it waits for maa's."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from maa.storage.mbox import MboxStore
from maa.storage.mbox.locking import DotLock

pytestmark = pytest.mark.integration

DOTLOCKFILE = shutil.which("dotlockfile")
MSG = b"Subject: maa\r\n\r\nfrom maa\r\n"
# What the other program delivers while it holds the lock: an mbox entry of its own.
THEIRS = "From other@example.test Mon Nov 23 10:00:00 2026\nSubject: theirs\n\nhello\n\n"


@pytest.fixture(autouse=True)
def needs_dotlockfile() -> None:
    if DOTLOCKFILE is None:
        pytest.skip("dotlockfile is not installed (apt-get install liblockfile-bin)")


def dotlockfile(*args: str) -> subprocess.CompletedProcess[bytes]:
    assert DOTLOCKFILE is not None
    return subprocess.run([DOTLOCKFILE, *args], capture_output=True, timeout=60)


def test_delivery_waits_for_dotlockfile_then_succeeds(tmp_path: Path) -> None:
    store = MboxStore(tmp_path / "mail", lock_timeout=60)
    inbox = store.folder("INBOX")
    mbox = tmp_path / "mail" / "inbox"
    lock = tmp_path / "mail" / "inbox.lock"
    # dotlockfile takes inbox.lock, runs the command under it (it appends a message, then
    # waits for a line on stdin) and removes the lock when the command exits.
    script = f'printf %s "$1" >> {mbox}; echo locked; read line'
    assert DOTLOCKFILE is not None
    other = subprocess.Popen(
        [DOTLOCKFILE, "-l", "-p", str(lock), "sh", "-c", script, "sh", THEIRS],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert other.stdin is not None and other.stdout is not None
    try:
        assert other.stdout.readline() == b"locked\n"
        assert lock.exists()
        result: list[int] = []
        append = threading.Thread(target=lambda: result.append(inbox.append(MSG)))
        append.start()
        append.join(0.5)
        assert append.is_alive(), "maa wrote while dotlockfile held the mailbox"
        assert mbox.read_bytes() == THEIRS.encode()  # nothing of maa's in it yet
        other.stdin.write(b"done\n")
        other.stdin.flush()
        assert other.wait(timeout=30) == 0
        append.join(60)
        assert not append.is_alive()
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()
        other.stdin.close()
        other.stdout.close()
    assert result == [2]  # the other program's message is UID 1
    assert inbox.read(1) == b"Subject: theirs\r\n\r\nhello\r\n"
    assert inbox.read(2) == MSG
    assert not lock.exists()
    text = mbox.read_bytes()
    assert text.startswith(THEIRS.encode()) and text.count(b"\nFrom ") == 1


def test_dotlockfile_waits_for_maa_lock(tmp_path: Path) -> None:
    store = MboxStore(tmp_path / "mail")
    store.folder("INBOX").append(MSG)
    mbox = tmp_path / "mail" / "inbox"
    lock = tmp_path / "mail" / "inbox.lock"
    held = DotLock(mbox, stale_after=300)
    held.acquire(time.monotonic() + 10)
    try:
        # Judged by age (maa's lock is fresh) and by the PID maa wrote (this live process).
        assert dotlockfile("-r", "0", "-l", str(lock)).returncode != 0
        assert dotlockfile("-r", "0", "-p", "-l", str(lock)).returncode != 0
        assert lock.read_bytes().split(b":")[0].isdigit()  # still maa's own lock file
    finally:
        held.release()
    assert dotlockfile("-r", "0", "-l", str(lock)).returncode == 0
    assert dotlockfile("-u", str(lock)).returncode == 0
    assert not lock.exists()
