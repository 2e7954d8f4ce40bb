"""The POP3 maildrop on the storage contract: the session lock, the message list read at
login, and the UPDATE state's flag changes and expunge. The functions here block (they read
and sync the disk); the protocol runs them in the reactor's thread pool."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from maa.proto.pop3.maildrop import Entry, MaildropView
from maa.storage.interface import DELETED, INBOX, SEEN, Folder, MailStore
from maa.storage.location import parse_location

# The lock file, named after Dovecot's own ``dovecot-pop3-session.lock`` but not the same
# file: Dovecot takes that one as a dotlock (its existence is the lock), and ours stays on
# disk between sessions. It does not start with "." so Maildir++ never takes it for a
# folder; in a Maildir it sits in the root next to ``dovecot-uidlist``, in an mbox location
# under ``.imap/`` next to the index, where neither Dovecot nor maa list a mailbox.
LOCK_NAME = "maa-pop3-session.lock"


class MaildropInUse(Exception):
    """Another POP3 session, in this process or another, holds the maildrop."""


def lock_path(location: str) -> Path | None:
    """Where the session lock of a mail location lives; None for in-process stores."""
    parsed = parse_location(location)  # the root, not INBOX=: a spool directory is shared
    if parsed.driver == "maildir":
        return Path(parsed.path) / LOCK_NAME
    if parsed.driver == "mbox":
        return Path(parsed.path) / ".imap" / LOCK_NAME
    return None


class MaildropLock:
    """One session's hold on a maildrop (RFC 1939 section 8), so two clients cannot each
    delete what the other is about to download.

    On disk it is a non-blocking ``flock`` on the lock file, held by an open descriptor for
    the session: it holds across processes (a second ``maa serve``, or an old process still
    running after a restart), conflicts within one process too (each session opens its own
    descriptor), and the kernel lets go of it however the session ends, the process dying
    included, so no stale lock is ever left to clean up."""

    _memory: set[str] = set()
    _memory_lock = threading.Lock()

    def __init__(self, location: str, fd: int | None) -> None:
        self.location = location
        self._fd = fd

    @classmethod
    def acquire(cls, location: str, owner: tuple[int, int] | None = None) -> MaildropLock:
        """The lock, or ``MaildropInUse``. The location's directory must exist."""
        path = lock_path(location)
        if path is None:
            with cls._memory_lock:
                if location in cls._memory:
                    raise MaildropInUse(location)
                cls._memory.add(location)
            return cls(location, None)
        if not path.parent.is_dir():
            path.parent.mkdir(mode=0o700, exist_ok=True)
            _give(path.parent, owner)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise MaildropInUse(location) from None
        except BaseException:
            os.close(fd)
            raise
        _give(fd, owner)
        return cls(location, fd)

    def release(self) -> None:
        """Lets go; calling it again does nothing. The file stays: removing it would let a
        session that opened it just before lock a file no one else can see."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
        elif self.location:
            with self._memory_lock:
                self._memory.discard(self.location)
            self.location = ""

    @classmethod
    def held(cls, location: str) -> bool:
        """Whether some session (here or in another process) holds the maildrop."""
        try:
            lock = cls.acquire(location)
        except MaildropInUse:
            return True
        except OSError:
            return False
        lock.release()
        return False


def _give(target: int | Path, owner: tuple[int, int] | None) -> None:
    """Hands a file the lock made to the mail user, as the storage drivers do."""
    if owner is not None and os.geteuid() == 0:
        with contextlib.suppress(OSError):
            os.chown(target, *owner)


def open_maildrop(
    store: MailStore, location: str, owner: tuple[int, int] | None = None
) -> tuple[Folder, MaildropView, MaildropLock]:
    """Locks the maildrop, then reads INBOX's message list as it is now; the list stays
    fixed for the session. Raises ``MaildropInUse`` when another session holds it.

    Messages an IMAP client flagged \\Deleted but did not expunge are listed, as Dovecot
    lists them (only its optional ``pop3_deleted_flag`` keyword hides messages)."""
    store.ensure_defaults()
    lock = MaildropLock.acquire(location, owner)
    try:
        folder = store.folder(INBOX)
        folder.refresh()
        messages = folder.messages()
        uidvalidity = folder.status().uidvalidity
    except BaseException:
        lock.release()
        raise
    return folder, MaildropView([Entry(m.uid, m.size) for m in messages], uidvalidity), lock


def apply_update(folder: Folder, expunge: Sequence[int], seen: Sequence[int]) -> None:
    """RFC 1939's UPDATE state: remove the messages marked with DELE, and flag the ones
    retrieved \\Seen for IMAP clients. Messages another session expunged meanwhile are
    already gone, which is what was asked."""
    if seen:
        folder.store_flags(seen, [SEEN], "add")
    if expunge:
        folder.store_flags(expunge, [DELETED], "add")
        folder.expunge(expunge)
