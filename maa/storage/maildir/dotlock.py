"""Dovecot-style dotlocks: ``<file>.lock`` made atomically, holding ``pid:hostname``.

A lock is stale when its holder is a dead process on this host, or when its mtime is older
than ``stale_after`` seconds (the holder refreshes nothing, like Dovecot's uidlist lock).
"""

from __future__ import annotations

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


@contextlib.contextmanager
def dotlock(
    target: Path,
    *,
    stale_after: float = STALE_AFTER,
    timeout: float = WAIT_TIMEOUT,
    owner: tuple[int, int] | None = None,
) -> Iterator[None]:
    lock = target.with_name(target.name + ".lock")
    # The lock is made by link(2) from a temp file that already holds "pid:host", so a lock
    # never exists without its holder's name in it, even if the holder dies right away.
    temp = target.with_name(f".{target.name}.lock.{_HOST}.{os.getpid()}.{threading.get_ident()}")
    temp.write_bytes(f"{os.getpid()}:{_HOST}".encode())
    try:
        chown(temp, owner)
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while True:
            try:
                os.link(temp, lock)
                break
            except FileExistsError:
                if _stale(lock, stale_after):
                    _break(lock)
                    continue
                if time.monotonic() > deadline:
                    raise TemporaryStorageError(f"timed out waiting for {lock}") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
    finally:
        temp.unlink(missing_ok=True)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
