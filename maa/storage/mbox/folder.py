"""One mbox folder: the ``Folder`` of the storage contract over one mbox file and its index.

There is one ``MboxFolder`` object per folder per store (so per process): it holds the index's
view of the folder in memory, its ``FolderFile`` (one descriptor and the locks), a lock
serializing the process's threads, and the ``watch`` callbacks.

Lock order, everywhere: this object's thread lock, then the dotlock, then the fcntl lock, then
the index's transaction. No file I/O happens inside an index transaction except the scan that
must be atomic with it.
"""

from __future__ import annotations

import contextlib
import io
import mmap
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

from maa.storage.interface import (
    DELETED,
    INBOX,
    SEEN,
    FlagMode,
    Folder,
    FolderNotFound,
    FolderStatus,
    MessageInfo,
    MessageNotFound,
    TemporaryStorageError,
)
from maa.storage.mbox import format as mbox_format
from maa.storage.mbox import writer
from maa.storage.mbox.errors import storage_errors
from maa.storage.mbox.folderfile import FolderFile
from maa.storage.mbox.index import FileStamp, FolderRow, Record
from maa.storage.mbox.locking import DotLock
from maa.storage.mbox.reconcile import reconcile

if TYPE_CHECKING:
    from maa.storage.mbox.store import MboxStore

# A message up to this size is returned by ``open`` from memory; a bigger one is copied to a
# temporary file (so a 20 MB attachment is not held in memory per FETCH).
SPOOL_IN_MEMORY = 1024 * 1024
# Messages copied per batch (one lock and one fsync per batch at the destination); bounds the
# temporary copies held at once.
COPY_BATCH = 64
_RECENT = "\\Recent"


class MboxFolder:
    def __init__(self, store: MboxStore, name: str) -> None:
        self._store = store
        self._name = name
        self._lock = threading.RLock()
        self.file = FolderFile(
            name,
            lambda: store.layout.mbox_file(name),
            lock_timeout=store.lock_timeout,
            stale_lock_age=store.stale_lock_age,
            make_missing=store.ensure_inbox if name == INBOX else None,
        )
        self._row: FolderRow | None = None
        self._records: dict[int, Record] = {}
        self._infos: list[MessageInfo] | None = None  # messages(), made once per change
        self._watchers: list[Callable[[], None]] = []

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"<MboxFolder {self._name!r} of {self._store.root}>"

    def _path(self) -> Path:
        return self.file.path

    def _check_alive(self) -> None:
        if self.file.retired:
            raise FolderNotFound(self._name)

    def close(self) -> None:
        with self._lock:
            self.file.close()

    def forget(self) -> None:
        """The folder was deleted or renamed: this object answers FolderNotFound from now on."""
        with self._lock:
            self.file.retire()

    # Keeping the in-memory view current

    def _sync_index(self, db: sqlite3.Connection | None = None) -> FolderRow:
        """Reload from the index if another process changed it (one indexed SELECT). ``db``
        is the transaction the caller is in, if any."""
        index = self._store.index
        row = index.folder_row(self._name)
        if row is None and db is not None:
            row = index.create_folder_row(db, self._name)
        elif row is None:
            with index.transaction() as new_db:
                row = index.folder_row(self._name) or index.create_folder_row(new_db, self._name)
        if self._row is None or row.generation != self._row.generation or row.id != self._row.id:
            self._records = {record.uid: record for record in index.records(row.id)}
            self._infos = None
        self._row = row
        return row

    def _sync_file(self, fd: int, dotlock: DotLock | None = None) -> bool:
        """Index what another program did to the file (called with it locked; ``dotlock`` is
        given by writers, who also clear away what a crashed append left)."""
        stat = os.fstat(fd)
        stamp = FileStamp(stat.st_ino, stat.st_size, stat.st_mtime_ns)
        debris = self._crashed_append(fd, stamp.size)
        clearing = debris is not None and dotlock is not None
        if self._row is not None and self._row.stamp == stamp and not clearing:
            return False
        index = self._store.index
        with index.transaction() as db:
            row = self._sync_index(db)
            if row.stamp == stamp and not clearing:
                return True
            old = row.stamp
            appended_only = old == stamp or (
                old.ino == stamp.ino
                and 0 < old.size < stamp.size
                and os.pread(fd, 5, old.size) == mbox_format.FROM_
                and os.pread(fd, 1, old.size - 1) == b"\n"
            )
            start = old.size if appended_only else 0
            scanned = []
            if stamp.size > start:
                with mmap.mmap(fd, stamp.size, access=mmap.ACCESS_READ) as mapped:
                    for begin, end in _without(start, stamp.size, debris):
                        scanned += mbox_format.scan(mapped, begin, end)
            result = reconcile(
                self._records,
                scanned,
                whole_file=not appended_only,
                uidnext=row.uidnext,
                highestmodseq=row.highestmodseq,
                fallback_date=stat.st_mtime,
            )
            index.put_records(db, row.id, result.added + result.moved + result.rewritten)
            index.remove_records(db, row.id, result.removed, result.highestmodseq)
            index.drop_cached(db, row.id, [record.uid for record in result.rewritten])
            row = replace(
                row,
                uidnext=result.uidnext,
                highestmodseq=result.highestmodseq,
                uidvalidity=result.uidvalidity or row.uidvalidity,
                stamp=stamp,
            )
            row = index.save_folder_row(db, row)
        self._row = row
        self._records = result.records
        self._infos = None
        if clearing:
            assert debris is not None and dotlock is not None
            self._clear_debris(fd, dotlock, debris)
        return True

    @contextlib.contextmanager
    def _writing(self) -> Iterator[tuple[int, DotLock]]:
        """The file locked for writing and indexed, with a crashed append's debris gone."""
        for _ in range(3):
            with self.file.locked(exclusive=True) as (fd, dotlock):
                assert dotlock is not None
                self._sync_file(fd, dotlock)
                if os.fstat(fd).st_ino == os.stat(self._path()).st_ino:
                    yield fd, dotlock
                    return
                # The debris was cut out by writing a new file: lock that one instead.
        raise TemporaryStorageError(f"{self._path()} keeps being replaced")

    def _crashed_append(self, fd: int, size: int) -> tuple[int, int] | None:
        """The byte range a crashed append left (its start to the next message, or the end)."""
        start = writer.read_intent(self._path())
        if start is None or start < 0:
            return None
        if start >= size:
            return (size, size)
        with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as mapped:
            later = mbox_format.find_separators(mapped, start + 1, size)
        return (start, later[0] if later else size)

    def _clear_debris(self, fd: int, dotlock: DotLock, debris: tuple[int, int]) -> None:
        """Writers only: cut a crashed append's bytes out of the file (truncating when they
        end it, rewriting otherwise), then forget the intent."""
        start, end = debris
        size = os.fstat(fd).st_size
        if start < end == size:
            os.ftruncate(fd, start)
            os.fsync(fd)
            self._commit_rewrite([], stamp_of=fd)
        elif start < end:
            self._rewrite(fd, dotlock, [])
        writer.clear_intent(self._path())

    def _loaded(self) -> FolderRow:
        """The in-memory view, made on first use (and after another thread forgot it)."""
        self._check_alive()
        if self._row is None:
            self._sync_index()
            with self.file.locked(exclusive=False) as (fd, _):
                self._sync_file(fd)
        assert self._row is not None
        return self._row

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

    def _pieces(self, uid: int) -> Iterator[bytes]:
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
            for piece in mbox_format.decode_message(raw):
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
        with self._lock:
            for piece in self._pieces(uid):
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

    def _rewrite(self, fd: int, dotlock: DotLock, gone: list[int]) -> None:
        """Write the file again with only the indexed messages not in ``gone``."""
        path = self._path()
        writer.remove_leftovers(path)
        gone_set = set(gone)
        keep = [record for uid, record in self._records.items() if uid not in gone_set]
        moved = writer.rewrite(fd, path, keep, touch=dotlock.touch, chown=self._store.chown)
        self._commit_rewrite(gone, stamp_of=path, moved=moved)

    def _commit_rewrite(
        self, gone: list[int], *, stamp_of: Path | int, moved: list[Record] | None = None
    ) -> None:
        """Index a rewritten file: ``gone`` expunged, ``moved`` at their new offsets."""
        stat = os.stat(stamp_of) if isinstance(stamp_of, Path) else os.fstat(stamp_of)
        index = self._store.index
        with index.transaction() as db:
            row = self._sync_index(db)  # flags may have changed meanwhile
            modseq = row.highestmodseq + 1 if gone else row.highestmodseq
            if moved is None:
                moved = []
                records = dict(self._records)
            else:
                moved = [  # with flags and MODSEQs as the index has them now
                    replace(
                        self._records[record.uid],
                        from_offset=record.from_offset,
                        body_offset=record.body_offset,
                        body_end=record.body_end,
                    )
                    for record in moved
                    if record.uid in self._records
                ]
                records = {record.uid: record for record in sorted(moved, key=_uid)}
            index.remove_records(db, row.id, gone, modseq)
            index.put_records(db, row.id, moved)
            row = index.save_folder_row(
                db,
                replace(
                    row,
                    highestmodseq=modseq,
                    stamp=FileStamp(stat.st_ino, stat.st_size, stat.st_mtime_ns),
                ),
            )
        self._row = row
        self._records = records
        self._infos = None

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


def _uid(record: Record) -> int:
    return record.uid


def _without(start: int, end: int, hole: tuple[int, int] | None) -> list[tuple[int, int]]:
    """``start``..``end`` less ``hole`` (the debris of a crashed append), as ranges to scan."""
    if hole is None or hole[1] <= start or hole[0] >= end:
        return [(start, end)]
    return [(a, b) for a, b in ((start, hole[0]), (hole[1], end)) if a < b]
