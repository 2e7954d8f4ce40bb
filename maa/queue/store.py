"""The queue on disk, laid out the way Postfix admins expect (``<data_dir>/queue``)::

    incoming/ID   envelopes of complete messages not yet looked at by the queue manager
    active/ID     envelopes being delivered now
    deferred/ID   envelopes waiting for their next attempt
    hold/ID       envelopes put aside by ``maa queue hold`` until released
    data/ID       message contents (RFC 5322, CRLF), immutable once written
    tmp/          envelopes being written

A message exists once its envelope is in one of the four queue folders. The content file is
written first (reserving the queue id with ``O_EXCL``) and fsynced, then the envelope is written
to ``tmp/``, fsynced and renamed into ``incoming/``, and the folder fsynced: only then does the
client get its 250. Moving a message between queues is a rename of its envelope. Whoever delivers
a message holds an ``flock`` on its content file, so a server and a ``maa queue flush`` run never
deliver the same message at once, and a message left in ``active/`` by a crash is recognised by
its lock being free.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from maa.queue.envelope import Envelope

QueueName = Literal["incoming", "active", "deferred", "hold"]
QUEUES: tuple[QueueName, ...] = ("incoming", "active", "deferred", "hold")

# Content files with no envelope (a crash between the two writes) are removed once older than
# this: long enough that a slow client still streaming its message is never cut short.
ORPHAN_AGE = 24 * 3600.0


# Held (flock) by the running queue manager, and holding its pid: how ``maa queue flush``
# knows whom to signal.
MANAGER_LOCK = "qmgr.pid"


class QueueError(Exception):
    pass


class MessageBusy(QueueError):
    """Another process or thread is delivering this message."""


class NoSuchMessage(QueueError):
    pass


# What a queue id may look like; anything else (``../../etc/passwd`` given to ``maa queue
# delete``) names no message and never reaches a path.
_QUEUE_ID = re.compile(r"[0-9A-F]{8,20}")


def check_queue_id(queue_id: str) -> str:
    if not _QUEUE_ID.fullmatch(queue_id):
        raise NoSuchMessage(queue_id)
    return queue_id


def new_queue_id() -> str:
    """A Postfix-style short queue id: 12 upper-case hex digits, the low 20 bits of the seconds,
    the microseconds, and 8 random bits (``O_EXCL`` on the content file makes it unique)."""
    now = time.time()
    seconds = int(now) & 0xFFFFF
    micros = int((now - int(now)) * 1_000_000) & 0xFFFFF
    return f"{seconds:05X}{micros:05X}{secrets.randbits(8):02X}"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(
    path: Path, data: bytes, tmp_dir: Path, owner: tuple[int, int] | None = None
) -> None:
    """Write ``data`` to ``path`` through a fsynced temporary file and a rename, then fsync
    the folder: after return the new contents survive a crash, and a reader never sees half."""
    tmp = tmp_dir / f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        if owner is not None:
            os.fchown(fd, *owner)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


@dataclass(frozen=True)
class QueuedMessage:
    queue: QueueName
    envelope: Envelope


class DeliveryLock:
    """An exclusive ``flock`` on a message's content file, held while it is delivered."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> DeliveryLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class QueueStore:
    def __init__(self, root: Path, *, owner: tuple[int, int] | None = None) -> None:
        """``owner`` (uid, gid): given to every file and folder made, when root queues mail
        for a server that runs as ``[server] user`` (what Postfix's setgid postdrop solves)."""
        self.root = root
        self.owner = owner
        self.data_dir = root / "data"
        self.tmp_dir = root / "tmp"

    @classmethod
    def for_data_dir(cls, data_dir: Path, *, owner: tuple[int, int] | None = None) -> QueueStore:
        store = cls(data_dir / "queue", owner=owner)
        store.ensure()
        return store

    def ensure(self) -> None:
        for path in (self.root, *(self.root / name for name in (*QUEUES, "data", "tmp"))):
            if not path.exists():
                path.mkdir(parents=True, exist_ok=True, mode=0o700)
                if self.owner is not None:
                    os.chown(path, *self.owner)

    def path(self, queue: QueueName, queue_id: str) -> Path:
        return self.root / queue / check_queue_id(queue_id)

    def content_path(self, queue_id: str) -> Path:
        return self.data_dir / check_queue_id(queue_id)

    # -- intake --------------------------------------------------------------------------

    def create_content(self) -> tuple[str, BinaryIO]:
        """Reserve a new queue id and open its content file for writing."""
        for _ in range(100):
            queue_id = new_queue_id()
            try:
                fd = os.open(
                    self.content_path(queue_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600
                )
            except FileExistsError:
                continue
            except FileNotFoundError:
                self.ensure()  # first use (folders are made lazily, after privileges drop)
                continue
            if self.owner is not None:
                os.fchown(fd, *self.owner)
            return queue_id, os.fdopen(fd, "wb")
        raise QueueError("could not allocate a queue id")

    def commit(self, envelope: Envelope, content: BinaryIO, queue: QueueName = "incoming") -> None:
        """Make a message durable and visible in ``queue``. ``content`` is the file from
        ``create_content``; it is fsynced and closed here."""
        content.flush()
        os.fsync(content.fileno())
        content.close()
        fsync_dir(self.data_dir)
        write_atomic(
            self.path(queue, envelope.queue_id), envelope.to_json(), self.tmp_dir, self.owner
        )

    def discard_content(self, queue_id: str, content: BinaryIO | None = None) -> None:
        if content is not None:
            content.close()
        self.content_path(queue_id).unlink(missing_ok=True)

    # -- reading -------------------------------------------------------------------------

    def ids(self, queue: QueueName) -> list[str]:
        try:
            names = os.listdir(self.root / queue)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if _QUEUE_ID.fullmatch(n))

    def load(self, queue: QueueName, queue_id: str) -> Envelope:
        try:
            return Envelope.from_json(self.path(queue, queue_id).read_bytes())
        except FileNotFoundError as e:
            raise NoSuchMessage(queue_id) from e

    def find(self, queue_id: str) -> QueuedMessage:
        for queue in QUEUES:
            try:
                return QueuedMessage(queue, self.load(queue, queue_id))
            except NoSuchMessage:
                continue
        raise NoSuchMessage(queue_id)

    def messages(self) -> Iterator[QueuedMessage]:
        for queue in QUEUES:
            for queue_id in self.ids(queue):
                try:
                    yield QueuedMessage(queue, self.load(queue, queue_id))
                except (NoSuchMessage, ValueError, KeyError, TypeError):
                    continue  # moved meanwhile, or not one of ours

    # -- changes -------------------------------------------------------------------------

    def save(self, queue: QueueName, envelope: Envelope) -> None:
        write_atomic(
            self.path(queue, envelope.queue_id), envelope.to_json(), self.tmp_dir, self.owner
        )

    def move(
        self, queue_id: str, source: QueueName, dest: QueueName, *, durable: bool = True
    ) -> None:
        """Atomic: exactly one of two racing movers succeeds, the other gets NoSuchMessage.
        ``durable=False`` skips the folder fsync where losing the move in a crash is
        harmless (the message is found in its old folder and handled from there)."""
        try:
            os.rename(self.path(source, queue_id), self.path(dest, queue_id))
        except FileNotFoundError as e:
            raise NoSuchMessage(queue_id) from e
        if durable:
            fsync_dir(self.root / dest)

    def quarantine(self, queue: QueueName, queue_id: str) -> Path:
        """Put aside an envelope that cannot be read (Postfix's ``corrupt`` queue) so it is
        neither retried every second nor lost; its content stays in ``data/``."""
        corrupt = self.root / "corrupt"
        corrupt.mkdir(exist_ok=True, mode=0o700)
        dest = corrupt / check_queue_id(queue_id)
        os.rename(self.path(queue, queue_id), dest)
        return dest

    def remove(self, queue: QueueName, queue_id: str) -> None:
        self.path(queue, queue_id).unlink(missing_ok=True)
        fsync_dir(self.root / queue)
        self.content_path(queue_id).unlink(missing_ok=True)

    def lock(self, queue_id: str, *, wait: float = 0.0) -> DeliveryLock:
        """Take the delivery lock; ``MessageBusy`` if someone else holds it after ``wait``
        seconds, ``NoSuchMessage`` if the content is gone."""
        try:
            fd = os.open(self.content_path(queue_id), os.O_RDONLY)
        except FileNotFoundError as e:
            raise NoSuchMessage(queue_id) from e
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return DeliveryLock(fd)
            except OSError as e:
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    os.close(fd)
                    raise
            if time.monotonic() >= deadline:
                os.close(fd)
                raise MessageBusy(queue_id)
            time.sleep(0.05)

    def remove_orphans(self, now: float | None = None) -> list[str]:
        """Delete content files whose envelope never arrived (older than ``ORPHAN_AGE``)."""
        now = time.time() if now is None else now
        known = {qid for queue in QUEUES for qid in self.ids(queue)}
        corrupt = self.root / "corrupt"
        known |= set(os.listdir(corrupt)) if corrupt.is_dir() else set()
        removed = []
        for name in os.listdir(self.data_dir):
            path = self.data_dir / name
            if name in known:
                continue
            try:
                if now - path.stat().st_mtime > ORPHAN_AGE:
                    path.unlink()
                    removed.append(name)
            except FileNotFoundError:
                continue
        for name in os.listdir(self.tmp_dir):
            path = self.tmp_dir / name
            try:
                if now - path.stat().st_mtime > ORPHAN_AGE:
                    path.unlink()
            except FileNotFoundError:
                continue
        return removed
