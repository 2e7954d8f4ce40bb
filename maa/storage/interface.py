"""The storage contract every front end (IMAP, POP3, LMTP, SMTP, CLI) uses.

A ``MailStore`` is one user's tree of folders; a ``Folder`` holds messages addressed by UID.
Drivers (``maildir``, ``mbox``, ``memory``) implement both; the shared test suite in
``tests/storage/`` runs over every driver.

Conventions, the same for every driver:

- Folder names are Unicode strings; ``.`` separates hierarchy levels (``Archive.2024``), as in
  Dovecot's Maildir++ layout. ``INBOX`` is matched case-insensitively and always exists. A name
  that is empty, has an empty level, contains ``/``, NUL, or a level of ``..`` raises
  ``InvalidFolderName``. Protocol layers convert to and from modified UTF-7 themselves.
- Message content is presented with CRLF line ends (RFC 5322 form), whatever the disk holds.
  ``MessageInfo.size`` is the size of that CRLF form: RFC822.SIZE for IMAP, LIST for POP3.
- Flags are strings: the system flags are ``\\Seen \\Answered \\Flagged \\Deleted \\Draft``
  (with the backslash); anything else is a keyword (``$Junk``, ``$Label1``). ``\\Recent`` is
  not a stored flag: see ``Folder.claim_recent``.
- Every change raises the folder's MODSEQ (RFC 7162): appends, flag changes and expunges.
- Methods are blocking and thread-safe: the delivery path calls them from a thread pool while
  IMAP sessions call them on the reactor thread. ``append`` returns only once the message and
  its UID are durable (file and directory fsynced); ``begin_append`` returns at once and
  resolves its Future at that moment instead.
- Change callbacks registered with ``Folder.watch`` may run in any thread; a Twisted caller
  hands them to the reactor with ``reactor.callFromThread``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import BinaryIO, Literal, Protocol

SEEN = "\\Seen"
ANSWERED = "\\Answered"
FLAGGED = "\\Flagged"
DELETED = "\\Deleted"
DRAFT = "\\Draft"
SYSTEM_FLAGS = frozenset({SEEN, ANSWERED, FLAGGED, DELETED, DRAFT})

HIERARCHY_SEPARATOR = "."
INBOX = "INBOX"

# The folders made (and subscribed) when a mailbox is first used, with their RFC 6154 roles.
SPECIAL_FOLDERS: dict[str, str] = {
    "Drafts": "\\Drafts",
    "Sent": "\\Sent",
    "Trash": "\\Trash",
    "Junk": "\\Junk",
}

FlagMode = Literal["set", "add", "remove"]


class StorageError(Exception):
    """Base of every storage failure; protocol layers map these to replies in one place."""


class FolderNotFound(StorageError):
    pass


class FolderExists(StorageError):
    pass


class InvalidFolderName(StorageError):
    pass


class MessageNotFound(StorageError):
    pass


class TemporaryStorageError(StorageError):
    """Try again later: a lock could not be taken in time, the disk is full, etc."""


@dataclass(frozen=True, slots=True)
class MessageInfo:
    uid: int
    flags: frozenset[str]
    size: int  # bytes of the CRLF form
    internal_date: float  # POSIX seconds
    modseq: int


@dataclass(frozen=True, slots=True)
class FolderInfo:
    """One name of ``MailStore.list_folders``: every folder, and every level of hierarchy
    above one. A level is one of two kinds, which IMAP tells apart (RFC 5258 3):

    - a folder that exists but holds no messages (an mbox directory): ``selectable`` False,
      ``exists`` True, listed ``\\Noselect``;
    - a name that exists only in its children's names (Maildir++ ``.a.b`` without ``.a``):
      ``selectable`` and ``exists`` False, listed ``\\NonExistent`` on extended LIST.
    """

    name: str
    special_use: str | None = None  # "\\Sent", "\\Drafts", "\\Trash", "\\Junk", ...
    selectable: bool = True  # False for a level that holds no messages (either kind)
    exists: bool = True  # False for a level that is only a part of its children's names

    def __post_init__(self) -> None:
        if self.selectable and not self.exists:
            raise ValueError(f"{self.name!r}: a folder that does not exist cannot be selected")


@dataclass(frozen=True, slots=True)
class FolderStatus:
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    messages: int
    unseen: int
    recent: int


class Folder(Protocol):
    """One folder. Obtained from ``MailStore.folder(name)``; cheap to obtain again."""

    @property
    def name(self) -> str: ...

    def status(self) -> FolderStatus:
        """Counts and UID/MODSEQ figures, answered from the index (no message file read)."""
        ...

    def messages(self) -> Sequence[MessageInfo]:
        """Every message, ascending UID, from the index (no message file read or stat)."""
        ...

    def message(self, uid: int) -> MessageInfo:
        """One message's info; ``MessageNotFound`` if it is gone."""
        ...

    def append(
        self,
        source: bytes | BinaryIO,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
    ) -> int:
        """Store a message (CRLF or LF line ends accepted) and return its UID once durable."""
        ...

    def begin_append(
        self,
        source: bytes,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
    ) -> Future[int] | None:
        """``append`` for a caller that must not wait for the disk (an event loop): the
        message is written now, which for one held in memory costs what writing to the
        page cache costs, and the Future gets its UID, in another thread, once it is
        durable. None if this folder cannot save without waiting (a lock to take, a
        file to fsync first): nothing was written, and the caller runs ``append`` in a
        thread instead."""
        ...

    def open(self, uid: int) -> BinaryIO:
        """A binary stream of the message in CRLF form; the caller closes it."""
        ...

    def read(self, uid: int, offset: int = 0, length: int | None = None) -> bytes:
        """A byte range of the CRLF form (the whole message by default)."""
        ...

    def store_flags(
        self,
        uids: Iterable[int],
        flags: Iterable[str],
        mode: FlagMode,
        unchanged_since: int | None = None,
    ) -> tuple[list[MessageInfo], list[int]]:
        """Change flags. Returns (infos of messages whose flags changed, now with their new
        MODSEQ; UIDs not changed because their MODSEQ is above ``unchanged_since``).
        UIDs that no longer exist are ignored."""
        ...

    def expunge(self, uids: Iterable[int] | None = None) -> list[int]:
        """Remove the messages flagged \\Deleted (only those among ``uids`` when given).
        Returns the UIDs removed, ascending."""
        ...

    def copy(self, uids: Iterable[int], dest: Folder) -> list[tuple[int, int]]:
        """Copy messages (with flags and internal date) to ``dest``; (source UID, new UID)."""
        ...

    def move(self, uids: Iterable[int], dest: Folder) -> list[tuple[int, int]]:
        """Copy then expunge from this folder, whatever the \\Deleted flag says."""
        ...

    def claim_recent(self) -> frozenset[int]:
        """The UIDs no session has seen yet; they are recent to the caller only (IMAP
        \\Recent), and to nobody after this call."""
        ...

    def vanished_since(self, modseq: int) -> list[int]:
        """UIDs expunged with a MODSEQ above ``modseq`` (for QRESYNC VANISHED), ascending."""
        ...

    def touched_since(self, modseq: int) -> bool:
        """False only when no message the folder held at MODSEQ ``modseq`` has changed flags
        or gone since, as of the last refresh (new messages do not count): a session then
        need not compare every message it holds to hear of a delivery. True when that may
        have happened (a driver that keeps no such mark always says True)."""
        ...

    def refresh(self) -> bool:
        """Pick up changes made by other processes; True if anything changed. Cheap when
        nothing did (a stat or two). A holder that calls it (an IMAP session, once per
        command) decides when such changes show: a driver may then answer ``status()``,
        ``messages()``, ``claim_recent()`` and ``expunge()`` from the last refresh plus this
        process's own changes, without looking at the disk again."""
        ...

    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` after any change made in this process; returns the unsubscriber."""
        ...

    def get_cached(self, uid: int, field: str) -> bytes | None:
        """A value cached for the message (parsed envelope, body structure...), or None."""
        ...

    def set_cached(self, uid: int, field: str, value: bytes) -> None: ...


class MailStore(Protocol):
    """One user's mailbox tree."""

    def list_folders(self) -> list[FolderInfo]:
        """Every folder, INBOX included, and every level above one: a level with no folder
        of its own is reported ``selectable=False, exists=False`` (see ``FolderInfo``)."""
        ...

    def folder(self, name: str) -> Folder:
        """``FolderNotFound`` if it does not exist."""
        ...

    def create_folder(self, name: str) -> None:
        """Creates missing parents too. ``FolderExists`` if it is there already."""
        ...

    def delete_folder(self, name: str) -> None:
        """INBOX cannot be deleted (``InvalidFolderName``)."""
        ...

    def rename_folder(self, old: str, new: str) -> None:
        """Renames children too. Renaming INBOX moves its messages to a new folder and leaves
        INBOX empty (RFC 3501 6.3.5)."""
        ...

    def subscriptions(self) -> list[str]: ...

    def subscribe(self, name: str) -> None: ...

    def unsubscribe(self, name: str) -> None: ...

    def ensure_defaults(self) -> None:
        """Make INBOX and the ``SPECIAL_FOLDERS`` (subscribed) if this mailbox is new.
        Idempotent and cheap; called on first delivery and on login."""
        ...
