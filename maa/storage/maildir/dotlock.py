"""Dovecot-style dotlocks: ``<file>.lock`` made atomically, holding ``pid:hostname``.

A lock is stale when its holder is a dead process on this host, or when its mtime is older
than ``stale_after`` seconds (the holder refreshes nothing, like Dovecot's uidlist lock).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from maa.storage.interface import TemporaryStorageError
from maa.storage.maildir.durable import chown

# Dovecot's maildir uidlist dotlock: stale after 2 minutes of no change, but a holder only
# keeps it for milliseconds; 30 s is ample and lets a crashed writer's lock go sooner.
STALE_AFTER = 30.0
# How long a writer waits for the lock before giving up with a temporary failure (LMTP then
# answers 4xx and the MTA retries).
WAIT_TIMEOUT = 60.0

_HOST = socket.gethostname()


def _holder_dead(lock: Path) -> bool:
    try:
        content = lock.read_text(errors="replace")
    except OSError:
        return False
    pid_text, _, host = content.strip().partition(":")
    if host != _HOST or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _stale(lock: Path, stale_after: float) -> bool:
    try:
        age = time.time() - lock.stat().st_mtime
    except FileNotFoundError:
        return False
    return age > stale_after or _holder_dead(lock)


def _break(lock: Path) -> None:
    """Remove a stale lock without removing a fresh one another process made meanwhile:
    move it aside, and put it back if what we moved was not the stale one."""
    try:
        stale_inode = lock.stat().st_ino
        aside = lock.with_name(f"{lock.name}.stale.{os.getpid()}")
        os.rename(lock, aside)
    except FileNotFoundError:
        return
    try:
        if aside.stat().st_ino != stale_inode:
            with contextlib.suppress(FileExistsError):
                os.link(aside, lock)
    finally:
        with contextlib.suppress(FileNotFoundError):
            aside.unlink()


# This process's holder file per locked file: "pid:host", made once and link(2)ed to the lock
# name for every lock. Creating and removing an inode per lock cost up to a millisecond on
# ext4 (both wait for the journal), paid by every group commit of appends; a link and an
# unlink cost microseconds. The lock never exists without its holder's name in it.
_holders: dict[Path, Path] = {}
_holders_lock = threading.Lock()


def _holder_prefix(target: Path) -> str:
    return f".{target.name}.lock.{_HOST}."


def _holder_file(target: Path, owner: tuple[int, int] | None) -> Path:
    holder = target.with_name(f"{_holder_prefix(target)}{os.getpid()}")
    with _holders_lock:
        if _holders.get(target) == holder:
            return holder  # if it was removed from outside, ``dotlock`` finds out
        _remove_dead_holders(target)
        temp = holder.with_name(f"{holder.name}.{threading.get_ident()}")
        temp.write_bytes(f"{os.getpid()}:{_HOST}".encode())
        chown(temp, owner)
        os.replace(temp, holder)
        _holders[target] = holder
        return holder


def _remove_dead_holders(target: Path) -> None:
    """Holder files of crashed processes on this host (they linger, being made only once)."""
    prefix = _holder_prefix(target)
    try:
        names = os.listdir(target.parent)
    except FileNotFoundError:
        return
    for name in names:
        pid_text = name[len(prefix) :].split(".", 1)[0]
        if not (name.startswith(prefix) and pid_text.isdigit()):
            continue
        pid = int(pid_text)
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target.parent / name)
        except PermissionError:
            pass


@atexit.register
def _remove_holders() -> None:
    with _holders_lock:
        for holder in _holders.values():
            with contextlib.suppress(OSError):
                holder.unlink()
        _holders.clear()


@contextlib.contextmanager
def dotlock(
    target: Path,
    *,
    stale_after: float = STALE_AFTER,
    timeout: float = WAIT_TIMEOUT,
    owner: tuple[int, int] | None = None,
) -> Iterator[None]:
    lock = target.with_name(target.name + ".lock")
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        holder = _holder_file(target, owner)
        try:
            # The lock's mtime is the holder file's: made fresh before the link, so that
            # the lock never looks stale to another process while it is held.
            os.utime(holder)
            os.link(holder, lock)
            break
        except FileNotFoundError:
            with _holders_lock:  # the holder file was removed from outside: make it again
                _holders.pop(target, None)
            continue
        except FileExistsError:
            if _stale(lock, stale_after):
                _break(lock)
                continue
            if time.monotonic() > deadline:
                raise TemporaryStorageError(f"timed out waiting for {lock}") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
