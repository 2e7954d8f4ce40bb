"""Every storage failure mapped to its IMAP reply, in one place (RFC 5530 response codes)."""

from __future__ import annotations

from maa.storage.interface import (
    FolderExists,
    FolderNotFound,
    InvalidFolderName,
    MessageNotFound,
    StorageError,
    TemporaryStorageError,
)

# (exception type, response code, text); the first match wins, so subclasses come first.
_REPLIES: tuple[tuple[type[StorageError], str, str], ...] = (
    (FolderNotFound, "NONEXISTENT", "Mailbox doesn't exist"),
    (FolderExists, "ALREADYEXISTS", "Mailbox already exists"),
    (InvalidFolderName, "CANNOT", "Invalid mailbox name"),
    (MessageNotFound, "EXPUNGEISSUED", "Some of the requested messages no longer exist"),
    (TemporaryStorageError, "UNAVAILABLE", "Temporary storage failure, try again later"),
    (StorageError, "SERVERBUG", "Internal storage error"),
)


def storage_reply(error: StorageError, *, trycreate: bool = False) -> tuple[str, str]:
    """The ``NO`` reply text (with its ``[CODE]``) for a storage error.

    ``trycreate``: a missing destination of COPY/MOVE/APPEND answers ``[TRYCREATE]``
    (RFC 3501 6.3.11) so clients offer to create it.
    """
    for kind, code, text in _REPLIES:
        if isinstance(error, kind):
            if trycreate and isinstance(error, FolderNotFound):
                code = "TRYCREATE"
            detail = str(error)
            if kind is InvalidFolderName and detail:
                text = f"{text}: {detail}"
            return "NO", f"[{code}] {text}"
    raise TypeError(error)
