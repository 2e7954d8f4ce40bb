"""The mbox file of one folder: one open descriptor, reopened when the file is replaced, and
the locks on it.

All reads are ``pread`` on the one descriptor, so no reader ever closes a descriptor of the
file while another thread holds a lock through it (with classic POSIX locks, any close drops
them all).
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from maa.storage.interface import FolderNotFound
from maa.storage.mbox.locking import DotLock, fcntl_lock, fcntl_unlock


class FolderFile:
    def __init__(
        self,
        name: str,
        path: Callable[[], Path],
        *,
        lock_timeout: float,
        stale_lock_age: float,
        make_missing: Callable[[], None] | None = None,
    ) -> None:
        self._name = name
        self._path = path  # asked each time: a folder that gains children moves its file
        self._lock_timeout = lock_timeout
        self._stale_lock_age = stale_lock_age
        self._make_missing = make_missing  # INBOX always exists, even after an admin's rm
        self._fd: int | None = None
        self.retired = False

    @property
    def path(self) -> Path:
        return self._path()

    def descriptor(self) -> int:
        """The descriptor of the file now at the folder's path (reopened if it was replaced)."""
        if self.retired:
            raise FolderNotFound(self._name)
        path = self._path()
        try:
            on_disk = os.stat(path)
        except FileNotFoundError:
            if self._make_missing is None:
                raise FolderNotFound(self._name) from None
            self._make_missing()
            on_disk = os.stat(path)
        if self._fd is not None and os.fstat(self._fd).st_ino == on_disk.st_ino:
            return self._fd
        self.close()
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            raise FolderNotFound(self._name) from None
        except OSError as error:
            if error.errno != errno.ELOOP:
                raise
            raise FolderNotFound(f"{self._name} is a symbolic link") from None
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def retire(self) -> None:
        """The folder was deleted or renamed: FolderNotFound from now on."""
        self.retired = True
        self.close()

    @contextlib.contextmanager
    def locked(self, *, exclusive: bool) -> Iterator[tuple[int, DotLock | None]]:
        """The file locked as readers (shared fcntl) or writers (exclusive fcntl, then the
        dotlock); yields the locked descriptor and the dotlock (writers only).

        Writers lock in the order Debian's policy, Postfix's local(8) (``mailbox_delivery_lock
        = fcntl, dotlock``) and Debian's Dovecot (``mbox_write_locks = fcntl dotlock``) use:
        in the other order, each would hold one lock while waiting for the other's."""
        deadline = time.monotonic() + self._lock_timeout
        dotlock = None
        try:
            while True:
                fd = self.descriptor()
                fcntl_lock(fd, exclusive=exclusive, deadline=deadline, what=str(self._path()))
                if exclusive and dotlock is None:
                    dotlock = DotLock(self._path(), stale_after=self._stale_lock_age)
                    try:
                        dotlock.acquire(deadline)
                    except BaseException:
                        dotlock = None
                        fcntl_unlock(fd)
                        raise
                try:
                    same = os.stat(self._path()).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
                if same:
                    break
                # Replaced while we waited: lock the new file instead, in the same order.
                fcntl_unlock(fd)
                if dotlock is not None:
                    dotlock.release()
                    dotlock = None
            try:
                yield fd, dotlock
            finally:
                fcntl_unlock(fd)
        finally:
            if dotlock is not None:
                dotlock.release()
