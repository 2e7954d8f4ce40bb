"""Mail storage: ``open_store(location)`` gives a user's ``MailStore`` for a mail location.

Locations carry their driver as a prefix, as Dovecot's ``mail_location`` does:
``maildir:/abs/path``, ``mbox:/abs/path`` or ``memory:NAME`` (in-process, for tests), and may
be followed by Dovecot's options, ``mbox:/home/alice/mail:INBOX=/var/mail/alice`` (see
``location``).
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
from maa.storage.location import Location, LocationError, parse_location

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
    "Location",
    "LocationError",
    "MailStore",
    "MessageInfo",
    "MessageNotFound",
    "StorageError",
    "TemporaryStorageError",
    "open_store",
    "parse_location",
]


def open_store(location: str, *, owner: tuple[int, int] | None = None) -> MailStore:
    """The store at ``location``. ``owner`` (uid, gid) is given to every directory and file
    the driver creates when the process may chown (running as root)."""
    try:
        parsed = parse_location(location)
    except LocationError as e:
        raise ValueError(f"mail location {location!r}: {e}") from None
    if parsed.driver == "memory":
        from maa.storage.memory import memory_store

        return memory_store(parsed.path)
    for what in (parsed.path, parsed.option("INBOX")):
        if what is not None and not Path(what).is_absolute():
            raise ValueError(f"mail location paths must be absolute: {location!r}")
    path = Path(parsed.path)
    inbox = parsed.option("INBOX")
    if parsed.driver == "maildir":
        from maa.storage.maildir import MaildirStore

        return MaildirStore(path, owner=owner, inbox=Path(inbox) if inbox else None)
    from maa.storage.mbox import MboxStore

    return MboxStore(  # type: ignore[no-any-return,unused-ignore]
        path, owner=owner, inbox=Path(inbox) if inbox else None
    )
