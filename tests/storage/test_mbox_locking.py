"""mbox locking against other programs: fcntl locks held by another process, dotlocks, stale
dotlocks, and bounded waits."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from maa.storage.interface import TemporaryStorageError
from maa.storage.mbox import MboxStore
from maa.storage.mbox.locking import DotLock

MSG = b"Subject: locked\r\n\r\nbody\r\n"

# Another mail program (Postfix's local(8) takes exactly this kind of lock): a classic POSIX
# fcntl lock on the whole file, shared or exclusive; while holding an exclusive one it delivers
# a message of its own, then waits for a line on stdin before unlocking.
HOLDER = r"""
import fcntl, sys
path, mode = sys.argv[1], sys.argv[2]
with open(path, "r+b") as mbox:
    fcntl.lockf(mbox, fcntl.LOCK_EX if mode == "exclusive" else fcntl.LOCK_SH)
    if mode == "exclusive":
        mbox.seek(0, 2)
        mbox.write(b"From postfix Mon Nov 23 10:00:00 2026\nSubject: theirs\n\nhello\n\n")
        mbox.flush()
    print("locked", flush=True)
    sys.stdin.readline()
    fcntl.lockf(mbox, fcntl.LOCK_UN)
"""


class Holder:
    def __init__(self, path: Path, mode: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path), mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline() == b"locked\n"

    def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        self.process.stdin.flush()
        assert self.process.wait(timeout=30) == 0
        self.close()

    def close(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def holders() -> Iterator[list[Holder]]:
    started: list[Holder] = []
    yield started
    for holder in started:
        if holder.process.poll() is None:
            holder.process.kill()
            holder.process.wait()
        holder.close()


class Background:
    """Run a blocking storage call in a thread and collect its result or exception."""

    def __init__(self, call: object) -> None:
        self.result: object = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self.thread.start()

    def _run(self, call: object) -> None:
        try:
            self.result = call()  # type: ignore[operator]
        except BaseException as error:
            self.error = error

    def still_waiting(self) -> bool:
        self.thread.join(0.3)
        return self.thread.is_alive()

    def finish(self) -> object:
        self.thread.join(30)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error
        return self.result


def test_append_waits_for_another_process_fcntl_lock(tmp_path: Path, holders: list[Holder]) -> None:
    store = MboxStore(tmp_path / "mail", lock_timeout=30)
    inbox = store.folder("INBOX")
    holder = Holder(tmp_path / "mail" / "inbox", "exclusive")
    holders.append(holder)
    append = Background(lambda: inbox.append(MSG))
    assert append.still_waiting()
    holder.release()
    assert append.finish() == 2  # the other program's message, delivered under its lock, is 1
    assert [info.uid for info in inbox.messages()] == [1, 2]
    assert inbox.read(1) == b"Subject: theirs\r\n\r\nhello\r\n"
    assert inbox.read(2) == MSG


def test_append_waits_for_a_dotlock(tmp_path: Path) -> None:
    store = MboxStore(tmp_path / "mail", lock_timeout=30)
    inbox = store.folder("INBOX")
    inbox.append(MSG)
    lock = tmp_path / "mail" / "inbox.lock"
    lock.write_bytes(b"4242\n")  # mutt or procmail holds the mailbox
    append = Background(lambda: inbox.append(MSG))
    assert append.still_waiting()
    lock.unlink()
    assert append.finish() == 2
    assert not lock.exists()
    assert [name for name in os.listdir(tmp_path / "mail") if "lock" in name] == []


def test_a_stale_dotlock_is_broken(tmp_path: Path) -> None:
    store = MboxStore(tmp_path / "mail", lock_timeout=30, stale_lock_age=60)
    inbox = store.folder("INBOX")
    lock = tmp_path / "mail" / "inbox.lock"
    lock.write_bytes(b"4242\n")
    long_ago = time.time() - 600
    os.utime(lock, (long_ago, long_ago))  # left by a program that crashed 10 minutes ago
    assert inbox.append(MSG) == 1
    assert not lock.exists()


def test_lock_wait_is_bounded(tmp_path: Path) -> None:
    store = MboxStore(tmp_path / "mail", lock_timeout=0.2)
    inbox = store.folder("INBOX")
    inbox.append(MSG)
    before = (tmp_path / "mail" / "inbox").read_bytes()
    lock = tmp_path / "mail" / "inbox.lock"
    lock.write_bytes(b"4242\n")
    with pytest.raises(TemporaryStorageError):
        inbox.append(MSG)
    with pytest.raises(TemporaryStorageError):
        inbox.expunge()
    assert lock.read_bytes() == b"4242\n"  # someone else's lock is left alone
    lock.unlink()
    assert (tmp_path / "mail" / "inbox").read_bytes() == before
    assert inbox.append(MSG) == 2


def test_readers_share_a_lock_writers_wait(tmp_path: Path, holders: list[Holder]) -> None:
    store = MboxStore(tmp_path / "mail", lock_timeout=0.2)
    inbox = store.folder("INBOX")
    uid = inbox.append(MSG)
    holder = Holder(tmp_path / "mail" / "inbox", "shared")  # another reader
    holders.append(holder)
    assert inbox.read(uid) == MSG
    with pytest.raises(TemporaryStorageError):
        inbox.append(MSG)
    holder.release()
    assert inbox.append(MSG) == uid + 1


def test_reader_waits_for_a_writer(tmp_path: Path, holders: list[Holder]) -> None:
    store = MboxStore(tmp_path / "mail", lock_timeout=30)
    inbox = store.folder("INBOX")
    uid = inbox.append(MSG)
    holder = Holder(tmp_path / "mail" / "inbox", "exclusive")
    holders.append(holder)
    read = Background(lambda: inbox.read(uid))
    assert read.still_waiting()
    holder.release()
    assert read.finish() == MSG
    assert inbox.refresh() is False  # the read already indexed the other program's message
    assert len(inbox.messages()) == 2


def test_concurrent_appends_from_threads_and_processes(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    store = MboxStore(root)
    inbox = store.folder("INBOX")
    script = (
        "import sys; from maa.storage.mbox import MboxStore\n"
        "inbox = MboxStore(sys.argv[1]).folder('INBOX')\n"
        "for n in range(10): inbox.append(b'Subject: other %d\\r\\n\\r\\nx\\r\\n' % n)\n"
    )
    other = subprocess.Popen(
        [sys.executable, "-c", script, str(root)], cwd=Path(__file__).parents[2]
    )
    threads = [
        threading.Thread(
            target=lambda t=t: [
                inbox.append(b"Subject: thread %d.%d\r\n\r\ny\r\n" % (t, n)) for n in range(10)
            ]
        )
        for t in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert other.wait(timeout=60) == 0
    inbox.refresh()
    infos = inbox.messages()
    assert [info.uid for info in infos] == list(range(1, 41))
    subjects = {inbox.read(info.uid).split(b"\r\n")[0] for info in infos}
    assert len(subjects) == 40
    # A fresh index built from the file alone finds the same 40 messages.
    store.close()
    (root / ".imap" / "maa-index.sqlite").unlink()
    assert len(MboxStore(root).folder("INBOX").messages()) == 40


def test_dotlock_without_hard_links_uses_o_excl(tmp_path: Path) -> None:
    """The fallback for filesystems where link(2) fails: still exclusive, still released."""
    target = tmp_path / "inbox"
    target.touch()
    first = DotLock(target, stale_after=300)
    assert first._try_exclusive_create()
    assert (tmp_path / "inbox.lock").read_text().startswith(f"{os.getpid()}:")
    second = DotLock(target, stale_after=300)
    assert not second._try_exclusive_create()
    first.release()
    assert not (tmp_path / "inbox.lock").exists()
    assert second._try_exclusive_create()
    second.release()
