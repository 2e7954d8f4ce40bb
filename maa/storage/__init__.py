"""Mail storage: ``open_store(location)`` gives a user's ``MailStore`` for a mail location.

Locations carry their driver as a prefix, as Dovecot's ``mail_location`` does:
``maildir:/abs/path``, ``mbox:/abs/path`` or ``memory:NAME`` (in-process, for tests).
"""

from __future__ import annotations

from pathlib import Path

from maa.storage.interface import (
    ANSWERED,
    DELETED,
    DRAFT,
    FLAGGED,
    HIERARCHY_SEPARATOR,
    INBOX,
    SEEN,
    SPECIAL_FOLDERS,
    SYSTEM_FLAGS,
    FlagMode,
    Folder,
    FolderExists,
    FolderInfo,
    FolderNotFound,
    FolderStatus,
    InvalidFolderName,
    MailStore,
    MessageInfo,
    MessageNotFound,
    StorageError,
    TemporaryStorageError,
)

__all__ = [
    "ANSWERED",
    "DELETED",
    "DRAFT",
    "FLAGGED",
    "HIERARCHY_SEPARATOR",
    "INBOX",
    "SEEN",
    "SPECIAL_FOLDERS",
    "SYSTEM_FLAGS",
    "FlagMode",
    "Folder",
    "FolderExists",
    "FolderInfo",
    "FolderNotFound",
    "FolderStatus",
    "InvalidFolderName",
    "MailStore",
    "MessageInfo",
    "MessageNotFound",
    "StorageError",
    "TemporaryStorageError",
    "open_store",
]


def open_store(location: str, *, owner: tuple[int, int] | None = None) -> MailStore:
    """The store at ``location``. ``owner`` (uid, gid) is given to every directory and file
    the driver creates when the process may chown (running as root)."""
    driver, sep, rest = location.partition(":")
    if not sep or not rest:
        raise ValueError(f"mail location must be DRIVER:PATH, not {location!r}")
    if driver == "memory":
        from maa.storage.memory import memory_store

        return memory_store(rest)
    path = Path(rest)
    if not path.is_absolute():
        raise ValueError(f"mail location path must be absolute: {location!r}")
    if driver == "maildir":
        from maa.storage.maildir import MaildirStore

        return MaildirStore(path, owner=owner)
    if driver == "mbox":
        from maa.storage.mbox import MboxStore

        return MboxStore(path, owner=owner)  # type: ignore[no-any-return,unused-ignore]
    raise ValueError(f"unknown mail storage driver {driver!r} in {location!r}")
