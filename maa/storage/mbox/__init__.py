"""The mbox storage driver: Dovecot's ``mbox:~/mail:INBOX=~/mail/inbox`` layout, with UIDs,
flags and MODSEQs in an SQLite index beside the folders (see ``index.py``)."""

from maa.storage.mbox.folder import MboxFolder
from maa.storage.mbox.store import MboxStore

__all__ = ["MboxFolder", "MboxStore"]
