"""The Maildir driver: Dovecot-compatible Maildir++ with dovecot-uidlist, dovecot-keywords and
a per-folder sqlite index (``maa-index.sqlite``) so listings never touch message files."""

from __future__ import annotations

from maa.storage.maildir.folder import MaildirFolder
from maa.storage.maildir.store import MaildirStore

__all__ = ["MaildirFolder", "MaildirStore"]
