"""One mbox folder: the ``Folder`` of the storage contract over one mbox file and its index.

There is one ``MboxFolder`` object per folder per store (so per process): its ``FolderView``
base holds the index's view of the folder in memory and keeps it current, its ``FolderFile``
the descriptor and the locks; this class adds the contract's operations and the ``watch``
callbacks.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import replace
from typing import TYPE_CHECKING, BinaryIO, cast

from maa.storage.interface import (
    DELETED,
    SEEN,
    FlagMode,
    Folder,
    FolderStatus,
    MessageInfo,
    MessageNotFound,
)
from maa.storage.mbox import format as mbox_format
from maa.storage.mbox import writer
from maa.storage.mbox.errors import storage_errors
from maa.storage.mbox.index import FileStamp, Record
from maa.storage.mbox.view import FolderView

if TYPE_CHECKING:
    from maa.storage.mbox.store import MboxStore

# A message up to this size is returned by ``open`` from memory; a bigger one is copied to a
# temporary file (so a 20 MB attachment is not held in memory per FETCH).
SPOOL_IN_MEMORY = 1024 * 1024
# Messages copied per batch (one lock and one fsync per batch at the destination); bounds the
# temporary copies held at once.
COPY_BATCH = 64
_RECENT = "\\Recent"


class MboxFolder(FolderView):
    """The ``Folder`` of the storage contract (see the module docstring)."""

    def __init__(self, store: MboxStore, name: str) -> None:
        super().__init__(store, name)
        self._watchers: list[Callable[[], None]] = []

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"<MboxFolder {self._name!r} of {self._store.root}>"

    def close(self) -> None:
        with self._lock:
            self.file.close()

    def forget(self) -> None:
        """The folder was deleted or renamed: this object answers FolderNotFound from now on."""
        with self._lock:
            self.file.retire()

    def _notify(self) -> None:
        for callback in list(self._watchers):
            callback()

    # Reading

    @storage_errors
    def status(self) -> FolderStatus:
        with self._lock:
            row = self._loaded()
            records = self._records.values()
            return FolderStatus(
                uidvalidity=row.uidvalidity,
                uidnext=row.uidnext,
                highestmodseq=row.highestmodseq,
                messages=len(self._records),
                unseen=sum(1 for record in records if SEEN not in record.flags),
                recent=sum(1 for uid in self._records if uid >= row.recent_uid),
            )

    @storage_errors
    def messages(self) -> Sequence[MessageInfo]:
        with self._lock:
            self._loaded()
            if self._infos is None:
                self._infos = [record.info() for record in self._records.values()]
            return list(self._infos)

    @storage_errors
    def message(self, uid: int) -> MessageInfo:
        with self._lock:
            self._loaded()
            record = self._records.get(uid)
            if record is None:
                raise MessageNotFound(f"UID {uid} not in {self._name}")
            return record.info()

    def _pieces(self, uid: int) -> Generator[bytes, None, None]:
        """The CRLF form of one message, read under a shared lock (the caller holds
        ``self._lock``; the generator must be run to its end or closed promptly)."""
        self._loaded()
        with self.file.locked(exclusive=False) as (fd, _):
            self._sync_file(fd)
            record = self._records.get(uid)
            if record is None:
                raise MessageNotFound(f"UID {uid} not in {self._name}")
            remaining = record.size
            raw = mbox_format.open_range(fd, record.body_offset, record.body_end)
            length = record.body_end - record.body_offset
            for piece in mbox_format.decode_message(raw, length):
                if remaining <= 0:
                    break
                piece = piece[:remaining]
                remaining -= len(piece)
                yield piece

    @storage_errors
    def read(self, uid: int, offset: int = 0, length: int | None = None) -> bytes:
        wanted: list[bytes] = []
        skip = max(0, offset)
        left = length if length is not None else -1
        with self._lock, contextlib.closing(self._pieces(uid)) as pieces:
            for piece in pieces:  # closing() releases the file lock even when we stop early
                if skip >= len(piece):
                    skip -= len(piece)
                    continue
                piece = piece[skip:]
                skip = 0
                if left >= 0:
                    piece = piece[:left]
                    left -= len(piece)
                wanted.append(piece)
                if left == 0:
                    break
        return b"".join(wanted)

    @storage_errors
    def open(self, uid: int) -> BinaryIO:
        with self._lock:
            record = self._records.get(uid) if self._row is not None else None
            if record is not None and record.size <= SPOOL_IN_MEMORY:
                return io.BytesIO(b"".join(self._pieces(uid)))
            spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (returned)
            try:
                for piece in self._pieces(uid):
                    spool.write(piece)
            except BaseException:
                spool.close()
                raise
        spool.seek(0)
        return cast(BinaryIO, spool)

    # Writing

    @storage_errors
    def append(
        self,
        source: bytes | BinaryIO,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
    ) -> int:
        stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
        return self.append_many([(stream, frozenset(flags), internal_date)])[0]

    def begin_append(
        self,
        source: bytes,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
    ) -> Future[int] | None:
        return None  # an append waits for the mbox's fcntl lock and dotlock, and fsyncs

    def append_many(
        self, items: Sequence[tuple[BinaryIO, frozenset[str], float | None]]
    ) -> list[int]:
        """Append several messages under one lock with one fsync; their UIDs, in order."""
        now = time.time()
        sources = [(stream, now if when is None else when) for stream, _, when in items]
        with self._lock:
            self._loaded()
            with self._writing() as (fd, _):
                path = self._path()
                start = os.fstat(fd).st_size
                writer.write_intent(path, start)
                try:
                    added = self._append_locked(fd, items, sources)
                except BaseException:
                    os.ftruncate(fd, start)  # not acknowledged: leave no trace
                    os.fsync(fd)
                    raise
                finally:
                    writer.clear_intent(path)
        self._notify()
        return [record.uid for record in added]

    def _append_locked(
        self,
        fd: int,
        items: Sequence[tuple[BinaryIO, frozenset[str], float | None]],
        sources: list[tuple[BinaryIO, float]],
    ) -> list[Record]:
        written = writer.append_messages(fd, sources)
        stat = os.fstat(fd)
        index = self._store.index
        with index.transaction() as db:
            row = self._sync_index(db)
            modseq = row.highestmodseq + 1
            added = [
                Record(
                    uid=row.uidnext + n,
                    from_offset=w.from_offset,
                    body_offset=w.body_offset,
                    body_end=w.body_end,
                    size=w.size,
                    fingerprint=w.fingerprint,
                    loose=w.loose,
                    flags=frozenset(f for f in item[1] if f != _RECENT),
                    internal_date=when,
                    modseq=modseq,
                )
                for n, (w, item, (_, when)) in enumerate(zip(written, items, sources, strict=True))
            ]
            index.put_records(db, row.id, added)
            row = index.save_folder_row(
                db,
                replace(
                    row,
                    uidnext=row.uidnext + len(added),
                    highestmodseq=modseq,
                    stamp=FileStamp(stat.st_ino, stat.st_size, stat.st_mtime_ns),
                ),
            )
        self._row = row
        self._records.update((record.uid, record) for record in added)
        self._infos = None
        return added

    @storage_errors
    def store_flags(
        self,
        uids: Iterable[int],
        flags: Iterable[str],
        mode: FlagMode,
        unchanged_since: int | None = None,
    ) -> tuple[list[MessageInfo], list[int]]:
        wanted = frozenset(flag for flag in flags if flag != _RECENT)
        changed: list[Record] = []
        refused: list[int] = []
        index = self._store.index
        with self._lock:
            self._loaded()
            with index.transaction() as db:
                row = self._sync_index(db)
                modseq = row.highestmodseq + 1
                for uid in sorted(set(uids)):
                    record = self._records.get(uid)
                    if record is None:
                        continue
                    if unchanged_since is not None and record.modseq > unchanged_since:
                        refused.append(uid)
                        continue
                    if mode == "set":
                        new = wanted
                    elif mode == "add":
                        new = record.flags | wanted
                    else:
                        new = record.flags - wanted
                    if new != record.flags:
                        changed.append(replace(record, flags=new, modseq=modseq))
                if changed:
                    index.put_flags(db, row.id, changed)
                    row = index.save_folder_row(db, replace(row, highestmodseq=modseq))
            self._row = row
            self._records.update((record.uid, record) for record in changed)
            if changed:
                self._infos = None
        if changed:
            self._notify()
        return [record.info() for record in changed], refused

    @storage_errors
    def expunge(self, uids: Iterable[int] | None = None) -> list[int]:
        return self._expunge(None if uids is None else set(uids), only_deleted=True)

    def _expunge(self, uids: set[int] | None, *, only_deleted: bool) -> list[int]:
        with self._lock:
            self._loaded()
            with self._writing() as (fd, dotlock):
                gone = [
                    uid
                    for uid, record in self._records.items()
                    if (uids is None or uid in uids)
                    and (not only_deleted or DELETED in record.flags)
                ]
                if not gone:
                    return []
                self._rewrite(fd, dotlock, gone)
        self._notify()
        return sorted(gone)

    @storage_errors
    def copy(self, uids: Iterable[int], dest: Folder) -> list[tuple[int, int]]:
        pairs: list[tuple[int, int]] = []
        wanted = sorted(set(uids))
        for start in range(0, len(wanted), COPY_BATCH):
            batch: list[tuple[int, BinaryIO, frozenset[str], float]] = []
            try:
                for uid in wanted[start : start + COPY_BATCH]:
                    with self._lock:
                        record = self._records.get(uid) if self._row is not None else None
                        if record is None:
                            self._loaded()
                            record = self._records.get(uid)
                        if record is None:
                            continue
                        batch.append((uid, self.open(uid), record.flags, record.internal_date))
                if isinstance(dest, MboxFolder):
                    new = dest.append_many([(s, flags, when) for _, s, flags, when in batch])
                else:
                    new = [dest.append(s, flags, when) for _, s, flags, when in batch]
            finally:
                for _, stream, _, _ in batch:
                    stream.close()
            pairs.extend((uid, new_uid) for (uid, *_), new_uid in zip(batch, new, strict=True))
        return pairs

    @storage_errors
    def move(self, uids: Iterable[int], dest: Folder) -> list[tuple[int, int]]:
        pairs = self.copy(uids, dest)
        if pairs:
            self._expunge({uid for uid, _ in pairs}, only_deleted=False)
        return pairs

    @storage_errors
    def claim_recent(self) -> frozenset[int]:
        index = self._store.index
        with self._lock:
            self._loaded()
            with index.transaction(durable=False) as db:
                row = self._sync_index(db)
                recent = frozenset(uid for uid in self._records if uid >= row.recent_uid)
                if row.recent_uid != row.uidnext:
                    row = index.save_folder_row(db, replace(row, recent_uid=row.uidnext))
            self._row = row
        return recent

    def touched_since(self, modseq: int) -> bool:
        return True

    @storage_errors
    def vanished_since(self, modseq: int) -> list[int]:
        with self._lock:
            row = self._loaded()
            return self._store.index.vanished_since(row.id, modseq)

    @storage_errors
    def refresh(self) -> bool:
        with self._lock:
            if self._row is None:
                self._loaded()
                return False
            before = self._row.generation
            row = self._sync_index()
            changed = row.generation != before
            try:
                stat = os.stat(self._path())
            except FileNotFoundError:
                stat = os.fstat(self.file.descriptor())  # INBOX is made again; others raise
            if FileStamp(stat.st_ino, stat.st_size, stat.st_mtime_ns) != row.stamp:
                with self.file.locked(exclusive=False) as (fd, _):
                    changed = self._sync_file(fd) or changed
            return changed

    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            self._watchers.append(callback)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._watchers.remove(callback)

        return unsubscribe

    @storage_errors
    def get_cached(self, uid: int, field: str) -> bytes | None:
        with self._lock:
            row = self._loaded()
        return self._store.index.get_cached(row.id, uid, field)

    @storage_errors
    def set_cached(self, uid: int, field: str, value: bytes) -> None:
        with self._lock:
            row = self._loaded()
        self._store.index.set_cached(row.id, uid, field, value)
