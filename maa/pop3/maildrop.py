"""The POP3 maildrop on the storage contract: the process-wide session lock, the message list
read at login, and the UPDATE state's flag changes and expunge. The functions here block
(they read and sync the disk); the protocol runs them in the reactor's thread pool."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from maa.proto.pop3.maildrop import Entry, MaildropView
from maa.storage.interface import DELETED, INBOX, SEEN, Folder, MailStore


class MaildropLocks:
    """At most one POP3 session per mail location in this process (RFC 1939 section 8:
    the maildrop is locked for the session), so two clients cannot each delete what the
    other is about to download."""

    def __init__(self) -> None:
        self._held: set[str] = set()
        self._lock = threading.Lock()

    def acquire(self, location: str) -> bool:
        with self._lock:
            if location in self._held:
                return False
            self._held.add(location)
            return True

    def release(self, location: str) -> None:
        with self._lock:
            self._held.discard(location)

    def held(self, location: str) -> bool:
        with self._lock:
            return location in self._held


LOCKS = MaildropLocks()


def open_maildrop(store: MailStore) -> tuple[Folder, MaildropView]:
    """INBOX and its message list as it is now; the list stays fixed for the session.

    Messages an IMAP client flagged \\Deleted but did not expunge are listed, as Dovecot
    lists them (only its optional ``pop3_deleted_flag`` keyword hides messages)."""
    store.ensure_defaults()
    folder = store.folder(INBOX)
    folder.refresh()
    messages = folder.messages()
    uidvalidity = folder.status().uidvalidity
    return folder, MaildropView([Entry(m.uid, m.size) for m in messages], uidvalidity)


def apply_update(folder: Folder, expunge: Sequence[int], seen: Sequence[int]) -> None:
    """RFC 1939's UPDATE state: remove the messages marked with DELE, and flag the ones
    retrieved \\Seen for IMAP clients. Messages another session expunged meanwhile are
    already gone, which is what was asked."""
    if seen:
        folder.store_flags(seen, [SEEN], "add")
    if expunge:
        folder.store_flags(expunge, [DELETED], "add")
        folder.expunge(expunge)
