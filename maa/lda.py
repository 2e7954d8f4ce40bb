"""Local delivery: the one function LMTP, the SMTP front (local domains) and ``maa deliver``
use to put a message into a user's mailbox (Dovecot's ``lib-lda``).

``deliver`` is blocking (Twisted callers run it in a thread); ``begin_deliver`` starts the
same delivery of a small message without waiting for the disk. It prepends
``Return-Path`` and ``Delivered-To`` (and any trace headers the caller gives) to the message
as a small header block streamed in front of the spooled file, so a large message is never
held in memory, and returns only once the storage says the message is durable.
"""

from __future__ import annotations

import errno
import io
import os
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from maa.auth.model import MailUser, UserDB
from maa.config import Config
from maa.log import service_log
from maa.mail.headers import first_header, header_block
from maa.storage.interface import (
    INBOX,
    Folder,
    FolderNotFound,
    InvalidFolderName,
    MailStore,
    StorageError,
    TemporaryStorageError,
)

if TYPE_CHECKING:
    from maa.context import StoreCache

# Bytes read from the spool per call when streaming into storage: large enough that a
# 50 MB message is a few hundred reads, small enough to keep memory flat.
STREAM_CHUNK = 256 * 1024
# Messages up to this size are handed to storage as one bytes object (header block joined to
# the content): one storage read step instead of a stream wrapper, and no more memory than a
# single streaming chunk.
SMALL_MESSAGE = STREAM_CHUNK


class Stores(Protocol):
    def open(self, user: MailUser) -> MailStore: ...


class DeliveryContext(Protocol):
    """What ``deliver`` needs: a ``ServerContext`` has both, so does ``LocalContext``."""

    @property
    def config(self) -> Config: ...

    @property
    def stores(self) -> Stores | StoreCache: ...


class LocalStores:
    """Opens stores for a one-shot process (``maa deliver``), without the server's cache and
    its Twisted imports: the command starts faster."""

    def open(self, user: MailUser) -> MailStore:
        from maa.storage import open_store

        owner = (user.uid, user.gid) if user.uid is not None and user.gid is not None else None
        return open_store(user.mail_location, owner=owner)


@dataclass
class LocalContext:
    """For deliveries outside the server (``maa deliver``)."""

    config: Config
    stores: Stores


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome for one recipient, with the SMTP code and RFC 3463 status to report."""

    code: int
    status: str
    reason: str
    uid: int | None = None
    folder: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300

    @property
    def temporary(self) -> bool:
        return 400 <= self.code < 500


def unknown_user(address: str) -> DeliveryResult:
    return DeliveryResult(550, "5.1.1", f"<{address}> User doesn't exist")


def resolve_recipient(
    userdb: UserDB, address: str, delimiter: str
) -> tuple[MailUser | None, str | None]:
    """The user an address delivers to and its detail: ``alice+lists@example.test`` with
    delimiter ``+`` → (alice, "lists"). The whole address is tried first (a login may contain
    the delimiter); each character of ``delimiter`` is a delimiter (as Postfix's
    ``recipient_delimiter``); empty disables details."""
    user = userdb.lookup(address)
    if user is not None:
        return user, None
    base, detail = _split_detail(address, delimiter)
    if base == address:
        return None, None
    user = userdb.lookup(base)
    return (user, detail) if user is not None else (None, None)


_UNSAFE_IN_HEADER = str.maketrans("\r\n\0", "   ")


def _header_value(text: str) -> str:
    """Envelope text made safe for a header: no line breaks can be smuggled in."""
    return text.translate(_UNSAFE_IN_HEADER)


def trace_headers(sender: str, recipient: str) -> bytes:
    return (
        f"Return-Path: <{_header_value(sender)}>\r\nDelivered-To: {_header_value(recipient)}\r\n"
    ).encode("utf-8", "surrogateescape")


class _Prepended(io.RawIOBase):
    """A header block followed by a stream, read as one stream."""

    def __init__(self, head: bytes, tail: BinaryIO) -> None:
        self._head = memoryview(head)
        self._pos = 0
        self._tail = tail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        out = memoryview(buffer).cast("B")
        if self._pos < len(self._head):
            n = min(len(out), len(self._head) - self._pos)
            out[:n] = self._head[self._pos : self._pos + n]
            self._pos += n
            return n
        data = self._tail.read(len(out))
        out[: len(data)] = data
        return len(data)


def _size_of(stream: BinaryIO) -> int:
    try:
        return os.fstat(stream.fileno()).st_size - stream.tell()
    except (OSError, io.UnsupportedOperation, AttributeError):
        here = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(here)
        return end - here


class _OpenFolders:
    """Folder handles kept per store for the next delivery. Opening one is not free (the
    Maildir driver checks its directories and reads its index's figures), and a busy intake
    delivers into the same INBOX many times a second. A handle stays valid until its folder is
    deleted or renamed, when it answers ``FolderNotFound``; ``deliver`` then opens it anew.
    Only folders that exist are kept: a ``+detail`` folder made later is found at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_store: weakref.WeakKeyDictionary[MailStore, dict[str, Folder]] = (
            weakref.WeakKeyDictionary()
        )

    def open(self, store: MailStore, wanted: str | None) -> Folder:
        """``wanted`` if it exists, else INBOX."""
        with self._lock:
            kept = self._by_store.setdefault(store, {})
        if wanted and wanted.upper() != INBOX:
            box = kept.get(wanted)
            if box is not None:
                return box
            try:
                box = kept[wanted] = store.folder(wanted)
                return box
            except (FolderNotFound, InvalidFolderName):
                pass
        box = kept.get(INBOX)
        if box is None:
            box = kept[INBOX] = store.folder(INBOX)
        return box

    def kept(self, store: MailStore, wanted: str | None) -> Folder | None:
        """What ``open`` would give, if it is at hand without opening anything."""
        with self._lock:
            kept = self._by_store.get(store)
        if kept is None:
            return None
        if wanted and wanted.upper() != INBOX:
            return kept.get(wanted)  # not kept: it may exist or not, ``open`` finds out
        return kept.get(INBOX)

    def drop(self, store: MailStore) -> None:
        with self._lock:
            self._by_store.pop(store, None)


_OPEN_FOLDERS = _OpenFolders()


def _failure(e: BaseException) -> DeliveryResult:
    if isinstance(e, TemporaryStorageError):
        return DeliveryResult(451, "4.2.0", f"Temporary storage failure: {e}")
    if isinstance(e, OSError) and e.errno == errno.EDQUOT:
        return DeliveryResult(552, "5.2.2", "Mailbox is full (quota exceeded)")
    if isinstance(e, OSError) and e.errno == errno.ENOSPC:
        return DeliveryResult(452, "4.3.1", "Insufficient system storage")
    return DeliveryResult(451, "4.3.0", "Temporary internal failure")


@dataclass(frozen=True)
class _Delivery:
    """One delivery's facts, for its log lines and its result."""

    log: Any
    who: str
    facts: str

    def saved(self, uid: int, target: str) -> DeliveryResult:
        self.log.info(self.who, f"{self.facts}: saved mail to {target}")
        return DeliveryResult(250, "2.0.0", f"Saved as UID {uid}", uid=uid, folder=target)

    def failed(self, e: BaseException, target: str) -> DeliveryResult:
        self.log.error(self.who, f"{self.facts}: save failed to {target}: {e}")
        return _failure(e)


def _start(
    ctx: DeliveryContext,
    user: MailUser,
    source: BinaryIO,
    size: int,
    sender: str,
    recipient: str,
    session: str | None,
    log_service: str,
) -> tuple[_Delivery, DeliveryResult | None]:
    """The delivery's facts, and its result already if the message is refused."""
    log = service_log(log_service)
    who = f"{session}: {user.login}" if session else user.login
    start = source.tell()
    headers = header_block(source)
    source.seek(start)
    msgid = first_header(headers, "Message-ID")
    msgid = _header_value(msgid.strip()) if msgid else "unspecified"
    delivery = _Delivery(log, who, f"msgid={msgid}, from=<{sender}>, to=<{recipient}>, size={size}")
    if size > ctx.config.mail.max_message_size:
        log.info(who, f"{delivery.facts}: rejected: message too large")
        return delivery, DeliveryResult(
            552, "5.3.4", "Message size exceeds fixed maximum message size"
        )
    return delivery, None


def _wanted_folder(ctx: DeliveryContext, recipient: str, folder: str | None) -> str | None:
    if folder is None:
        _, folder = _split_detail(recipient, ctx.config.mail.recipient_delimiter)
    return folder


def deliver(
    ctx: DeliveryContext,
    user: MailUser,
    source: BinaryIO | str | os.PathLike[str],
    *,
    sender: str,
    recipient: str,
    folder: str | None = None,
    extra_headers: bytes = b"",
    session: str | None = None,
    log_service: str = "lmtp",
    trace: bool = True,
) -> DeliveryResult:
    """Save ``source`` (a seekable binary stream at the message start, or a path) for
    ``user``: into ``folder`` if given and existing, else the recipient's ``+detail`` folder
    if it exists, else INBOX. ``extra_headers`` (CRLF lines, e.g. ``Received:``) go after
    ``Return-Path`` and ``Delivered-To``, which ``trace=False`` leaves out (an MTA that ran
    ``maa deliver`` added its own). Never raises for storage trouble: the result says what
    to tell the client."""
    if isinstance(source, str | os.PathLike):
        with Path(source).open("rb") as stream:
            return deliver(
                ctx,
                user,
                stream,
                sender=sender,
                recipient=recipient,
                folder=folder,
                extra_headers=extra_headers,
                session=session,
                log_service=log_service,
                trace=trace,
            )
    start = source.tell()
    size = _size_of(source)
    delivery, refused = _start(ctx, user, source, size, sender, recipient, session, log_service)
    if refused is not None:
        return refused
    folder = _wanted_folder(ctx, recipient, folder)
    target = INBOX
    try:
        store = ctx.stores.open(user)
        store.ensure_defaults()
        head = (trace_headers(sender, recipient) if trace else b"") + extra_headers
        content: bytes | BinaryIO
        if size <= SMALL_MESSAGE:
            content = head + source.read()
        else:
            content = io.BufferedReader(_Prepended(head, source), STREAM_CHUNK)
        box = _OPEN_FOLDERS.open(store, folder)
        target = box.name
        try:
            uid = box.append(content)
        except (FolderNotFound, FileNotFoundError):
            # A kept handle whose folder was deleted, renamed or removed from outside:
            # nothing of the message is visible yet, so open the folder again (INBOX is
            # made anew) and save once more.
            _OPEN_FOLDERS.drop(store)
            if not isinstance(content, bytes):
                source.seek(start)
                content = io.BufferedReader(_Prepended(head, source), STREAM_CHUNK)
            box = _OPEN_FOLDERS.open(store, folder)
            target = box.name
            uid = box.append(content)
    except (StorageError, OSError) as e:
        return delivery.failed(e, target)
    return delivery.saved(uid, target)


class StartedDelivery:
    """A delivery begun by ``begin_deliver``. ``saving`` is done once the message is durable
    (or could not be saved), in the thread that synced it; ``outcome()``, called after that
    in the caller's own thread, writes the delivery's log line and gives its result. The
    thread that syncs a whole batch goes on to the next sync instead of writing the batch's
    log lines."""

    __slots__ = ("_finish", "saving")

    def __init__(
        self, saving: Future[Any], finish: Callable[[Future[Any]], DeliveryResult]
    ) -> None:
        self.saving = saving
        self._finish = finish

    def outcome(self) -> DeliveryResult:
        """The result, once ``saving`` is done; raises what is not a storage failure."""
        return self._finish(self.saving)


def _given(result: DeliveryResult) -> StartedDelivery:
    done: Future[Any] = Future()
    done.set_result(None)
    return StartedDelivery(done, lambda _: result)


def begin_deliver(
    ctx: DeliveryContext,
    user: MailUser,
    message: bytes,
    *,
    sender: str,
    recipient: str,
    folder: str | None = None,
    extra_headers: bytes = b"",
    session: str | None = None,
    log_service: str = "lmtp",
) -> StartedDelivery | None:
    """``deliver`` of a small message held in memory, for a caller that must not wait for
    the disk (the LMTP server's event loop): the message is written at once, and the
    delivery's ``saving`` is done, in another thread, once it is durable. None when that
    cannot be done without waiting, having done nothing: the target folder was not opened
    by an earlier delivery in this process (opening it may create the mailbox), or its
    storage cannot save without blocking (``Folder.begin_append``). The caller then runs
    ``deliver``."""
    store = ctx.stores.open(user)
    box = _OPEN_FOLDERS.kept(store, _wanted_folder(ctx, recipient, folder))
    if box is None:
        return None
    delivery, refused = _start(
        ctx, user, io.BytesIO(message), len(message), sender, recipient, session, log_service
    )
    if refused is not None:
        return _given(refused)
    target = box.name
    try:
        saving = box.begin_append(trace_headers(sender, recipient) + extra_headers + message)
    except (FolderNotFound, FileNotFoundError):
        _OPEN_FOLDERS.drop(store)  # deleted or renamed meanwhile: ``deliver`` opens it anew
        return None
    except (StorageError, OSError) as e:
        return _given(delivery.failed(e, target))
    if saving is None:
        return None

    def finish(saving: Future[int]) -> DeliveryResult:
        error = saving.exception()
        if error is None:
            return delivery.saved(saving.result(), target)
        if isinstance(error, StorageError | OSError):
            return delivery.failed(error, target)
        raise error

    return StartedDelivery(saving, finish)


def _split_detail(address: str, delimiter: str) -> tuple[str, str | None]:
    """``alice+lists@x`` → (``alice@x``, ``lists``), by text alone."""
    if not delimiter:
        return address, None
    local, at, domain = address.rpartition("@")
    if not at:
        local = address
    cut = min((i for i in (local.find(d) for d in delimiter) if i > 0), default=-1)
    if cut < 0:
        return address, None
    base = local[:cut] + (f"@{domain}" if at else "")
    return base, local[cut + 1 :] or None
