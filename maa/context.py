"""What every listening front end is given: settings, users, the cred portal, TLS, storage."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from twisted.cred.portal import Portal
from twisted.internet.ssl import CertificateOptions

from maa.auth.model import MailUser, UserDB
from maa.config import Config
from maa.storage.interface import MailStore


@dataclass
class StoreCache:
    """One ``MailStore`` object per mail location in this process, so that a delivery made by
    LMTP reaches the ``Folder.watch`` callbacks of the IMAP sessions on the same mailbox."""

    _stores: dict[str, MailStore] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self, user: MailUser) -> MailStore:
        from maa.storage import open_store

        with self._lock:
            store = self._stores.get(user.mail_location)
            if store is None:
                owner = (
                    (user.uid, user.gid) if user.uid is not None and user.gid is not None else None
                )
                store = open_store(user.mail_location, owner=owner)
                self._stores[user.mail_location] = store
            return store


@dataclass
class ServerContext:
    config: Config
    userdb: UserDB
    portal: Portal
    tls: CertificateOptions
    stores: StoreCache
    reactor: Any
