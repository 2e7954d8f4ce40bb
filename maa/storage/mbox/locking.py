"""mbox locking as Postfix's local(8), mutt and Dovecot do it: a dotlock and an fcntl lock.

Writers take an exclusive fcntl lock and then ``<file>.lock`` (made with the link trick, so
it is atomic even over NFS), the order of Debian's policy, Postfix's ``mailbox_delivery_lock``
and Dovecot's ``mbox_write_locks``; readers take a shared fcntl lock only. The fcntl locks are
Linux's open-file-description locks where available: they conflict with the classic POSIX
locks other programs take, but belong to one descriptor, so a thread that closes another
descriptor of the same file does not silently drop them (the classic POSIX-lock trap).

Every wait is bounded: the lock is retried until a deadline, then ``LockTimeout`` (a
``TemporaryStorageError``: LMTP answers 4xx and the MTA tries again later).
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

from maa.storage.interface import StorageError, TemporaryStorageError

# Pause between attempts while a lock is busy: short first, so an uncontended wait is quick,
# growing to a tenth of a second so a long wait does not spin.
_FIRST_PAUSE = 0.005
_MAX_PAUSE = 0.1

_SETLK = getattr(fcntl, "F_OFD_SETLK", fcntl.F_SETLK)
# link(2) failures that mean "this filesystem has no hard links", not "the lock is taken".
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}


class LockTimeout(TemporaryStorageError):
    pass


def _pauses(deadline: float, what: str) -> Iterator[None]:
    """Sleep between attempts; raise ``LockTimeout`` once ``deadline`` (monotonic) passes."""
    pause = _FIRST_PAUSE
    while True:
        if time.monotonic() >= deadline:
            raise LockTimeout(f"timed out waiting for the lock on {what}")
        time.sleep(pause)
        pause = min(pause * 2, _MAX_PAUSE)
        yield


def _flock_struct(lock_type: int) -> bytes:
    # struct flock: l_type, l_whence, l_start, l_len, l_pid (0, as OFD locks require).
    return struct.pack("hhqqi4x", lock_type, os.SEEK_SET, 0, 0, 0)


def try_fcntl_lock(fd: int, *, exclusive: bool) -> bool:
    lock_type = fcntl.F_WRLCK if exclusive else fcntl.F_RDLCK
    try:
        fcntl.fcntl(fd, _SETLK, _flock_struct(lock_type))
    except OSError as error:
        if error.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def fcntl_lock(fd: int, *, exclusive: bool, deadline: float, what: str) -> None:
    """Take an fcntl lock on the whole file, waiting until ``deadline`` (monotonic)."""
    if try_fcntl_lock(fd, exclusive=exclusive):
        return
    for _ in _pauses(deadline, what):
        if try_fcntl_lock(fd, exclusive=exclusive):
            return


def fcntl_unlock(fd: int) -> None:
    fcntl.fcntl(fd, _SETLK, _flock_struct(fcntl.F_UNLCK))


def _holder_is_dead(content: bytes) -> bool:
    """Whether a lock file written as ``pid:hostname`` (as here and by Dovecot) names a process
    of this host that no longer runs: a crashed holder, whose lock need not age to be broken.
    Other programs' lock files (mutt's are empty) are judged by age only."""
    pid, _, host = content.decode("ascii", "replace").strip().partition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) <= 0:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class DotLock:
    """``<path>.lock``, as mail programs have made it since the 1980s.

    A unique file is created with O_EXCL and hard-linked to the lock name; the link either
    succeeds or the unique file's link count says it did (NFS may lose the reply). A lock
    file older than ``stale_after`` seconds, or naming a dead process of this host, was left
    by a crashed program and is removed.
    """

    def __init__(self, target: Path, *, stale_after: float) -> None:
        self.path = target.with_name(target.name + ".lock")
        self._stale_after = stale_after
        self._held = False

    def acquire(self, deadline: float) -> None:
        unique = self.path.with_name(
            f".{self.path.name}.{socket.gethostname()}.{os.getpid()}.{secrets.token_hex(4)}"
        )
        try:
            fd = os.open(unique, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except PermissionError as error:
            # Not skipped (as Dovecot's opt-in ``dotlock_try`` would): writing without it
            # races Postfix's local(8) and mutt, which rely on it. A spool directory such as
            # Debian's /var/mail (root:mail, 2775) must be writable by the process.
            raise StorageError(
                f"cannot create the dotlock {self.path}: {error.strerror}; the directory "
                f"must be writable by uid {os.geteuid()} (for /var/mail: group mail)"
            ) from error
        try:
            os.write(fd, f"{os.getpid()}:{socket.gethostname()}\n".encode())
        finally:
            os.close(fd)
        try:
            if self._try_link(unique):
                return
            for _ in _pauses(deadline, str(self.path)):
                if self._try_link(unique):
                    return
        finally:
            try:
                os.unlink(unique)
            except FileNotFoundError:
                pass

    def _try_link(self, unique: Path) -> bool:
        try:
            os.link(unique, self.path)
        except FileExistsError:
            # Held by someone, or NFS lost the reply to a link that worked.
            if os.stat(unique).st_nlink == 2:
                self._held = True
                return True
            self._break_if_stale()
            return False
        except OSError as error:
            if error.errno not in _NO_HARD_LINKS:
                raise
            return self._try_exclusive_create()
        self._held = True
        return True

    def _try_exclusive_create(self) -> bool:
        """For filesystems without hard links (some FUSE mounts): O_EXCL alone."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            self._break_if_stale()
            return False
        try:
            os.write(fd, f"{os.getpid()}:{socket.gethostname()}\n".encode())
        finally:
            os.close(fd)
        self._held = True
        return True

    def _break_if_stale(self) -> None:
        try:
            age = time.time() - os.lstat(self.path).st_mtime
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            return
        except OSError:
            fd = -1  # a link or a fifo someone put there: judged by age only
        try:
            owner = os.read(fd, 100) if fd >= 0 else b""
        finally:
            if fd >= 0:
                os.close(fd)
        if age > self._stale_after or _holder_is_dead(owner):
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def touch(self) -> None:
        """Show a long holder (an expunge of a big file) is alive, so nobody breaks the lock."""
        if self._held:
            try:
                os.utime(self.path)
            except FileNotFoundError:
                pass

    def moved(self, target: Path) -> None:
        """The held lock file moved with its directory (a folder renamed while locked)."""
        self.path = target.with_name(target.name + ".lock")

    def release(self) -> None:
        if self._held:
            self._held = False
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
