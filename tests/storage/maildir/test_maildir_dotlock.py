"""The dovecot-uidlist dotlock: exclusive, and broken when its holder is gone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from maa.storage import TemporaryStorageError
from maa.storage.maildir.dotlock import _HOST, dotlock


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_lock_is_exclusive_between_threads(tmp_path: Path) -> None:
    target = tmp_path / "dovecot-uidlist"
    inside = 0
    most = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        for _ in range(20):
            with dotlock(target):
                with guard:
                    inside += 1
                    most = max(most, inside)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1
    # No lock left behind; only this process's holder file, which it keeps for the next lock.
    assert sorted(os.listdir(tmp_path)) == [f".dovecot-uidlist.lock.{_HOST}.{os.getpid()}"]


def test_holder_files_of_dead_processes_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "dovecot-uidlist"
    left = tmp_path / f".dovecot-uidlist.lock.{_HOST}.{dead_pid()}"
    left.write_text("gone")
    older = tmp_path / f".dovecot-uidlist.lock.{_HOST}.{dead_pid()}.140000"  # per-thread temp
    older.write_text("gone")
    with dotlock(target):
        pass
    assert sorted(os.listdir(tmp_path)) == [f".dovecot-uidlist.lock.{_HOST}.{os.getpid()}"]


def test_lock_is_made_again_when_its_holder_file_was_removed(tmp_path: Path) -> None:
    target = tmp_path / "dovecot-uidlist"
    with dotlock(target):
        pass
    for name in os.listdir(tmp_path):
        os.unlink(tmp_path / name)
    with dotlock(target):
        assert (tmp_path / "dovecot-uidlist.lock").read_text() == f"{os.getpid()}:{_HOST}"


def test_a_held_lock_is_fresh_though_its_holder_file_is_old(tmp_path: Path) -> None:
    target = tmp_path / "dovecot-uidlist"
    with dotlock(target):
        pass
    holder = tmp_path / f".dovecot-uidlist.lock.{_HOST}.{os.getpid()}"
    os.utime(holder, (1_000_000, 1_000_000))
    with dotlock(target):
        assert time.time() - (tmp_path / "dovecot-uidlist.lock").stat().st_mtime < 30


def test_lock_of_a_dead_process_is_broken_at_once(tmp_path: Path) -> None:
    target = tmp_path / "dovecot-uidlist"
    lock = tmp_path / "dovecot-uidlist.lock"
    lock.write_text(f"{dead_pid()}:{socket.gethostname()}")
    with dotlock(target, timeout=2.0):
        assert lock.read_text() == f"{os.getpid()}:{socket.gethostname()}"
    assert not lock.exists()


def test_old_lock_is_stale(tmp_path: Path) -> None:
    target = tmp_path / "dovecot-uidlist"
    lock = tmp_path / "dovecot-uidlist.lock"
    lock.write_text(f"1:{socket.gethostname()}")  # pid 1 is alive: only age can free it
    os.utime(lock, (1_000_000, 1_000_000))
    with dotlock(target, stale_after=30, timeout=2.0):
        pass


def test_live_lock_times_out_with_temporary_error(tmp_path: Path) -> None:
    target = tmp_path / "dovecot-uidlist"
    lock = tmp_path / "dovecot-uidlist.lock"
    lock.write_text(f"1:{socket.gethostname()}")
    with pytest.raises(TemporaryStorageError), dotlock(target, timeout=0.2):
        pass
    assert lock.exists()  # somebody else's lock is left alone
