"""The mbox storage driver (``mail location = "mbox:/srv/mail/%d/%n"``).

On disk, as Dovecot's ``mbox:~/mail:INBOX=~/mail/inbox``: INBOX is ``<root>/inbox``, other
folders are files named in modified UTF-7 with hierarchy levels as directories
(``Archive.2024`` is ``<root>/Archive/2024``); a folder that also has children keeps its
messages in ``<dir>/.mbox``. Subscriptions are in ``<root>/.subscriptions``.

Messages are written as Dovecot writes them: a ``From sender date`` line, the header, a
``Content-Length:`` of the body, the body verbatim (``From `` lines unquoted), an empty line; LF
on disk and CRLF shown. Messages without a matching Content-Length (Postfix's local(8), older
files) are read as mboxrd, ``>From`` quoting undone (see ``format``). Writers take an fcntl
lock, then a dotlock (in this order, as Debian's Postfix local(8) and Dovecot do), readers a
shared fcntl lock; waits are bounded and end in ``TemporaryStorageError``.

UIDs, flags, MODSEQs, the expunge log and cached parses live in
``<root>/.imap/maa-index.sqlite`` (see ``index.py``), where Dovecot lists no mailbox.
Messages other programs append or rewrite are noticed by a stat and matched by content
hashes (``reconcile.py``); Dovecot's ``X-IMAPbase``/``X-UID``/``Status``/
``X-Status``/``X-Keywords`` headers and ``Content-Length`` are honoured when reading and,
as by Dovecot, never shown to readers; of them maa writes only Content-Length. Expunge writes
a new file and renames it over the old one; an append killed midway leaves nothing that is
taken for a message.
"""

from maa.storage.mbox.folder import MboxFolder
from maa.storage.mbox.store import MboxStore

__all__ = ["MboxFolder", "MboxStore"]
