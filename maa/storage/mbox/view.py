"""The index's view of one mbox folder, kept in step with its file.

``FolderView`` holds the folder's messages as the index knows them, in memory, and brings them
up to date: from the index when another process changed it (one indexed SELECT tells), and
from the file when another program did (a stat tells; then the new tail, or the whole file,
is scanned and matched, see ``reconcile``). It also owns the writers' housekeeping: clearing
what a crashed append left, and committing a rewritten file.

Lock order, everywhere: the view's thread lock, then the dotlock, then the fcntl lock, then
the index's transaction. No file I/O happens inside an index transaction except the scan that
must be atomic with it.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from maa.storage.interface import INBOX, FolderNotFound, MessageInfo, TemporaryStorageError
from maa.storage.mbox import format as mbox_format
from maa.storage.mbox import writer
from maa.storage.mbox.folderfile import FolderFile
from maa.storage.mbox.index import FileStamp, FolderRow, Record
from maa.storage.mbox.locking import DotLock
from maa.storage.mbox.reconcile import reconcile

if TYPE_CHECKING:
    from maa.storage.mbox.store import MboxStore


class FolderView:
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

    def _path(self) -> Path:
        return self.file.path

    def _check_alive(self) -> None:
        if self.file.retired:
            raise FolderNotFound(self._name)

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
            index.put_records(  # only those before the first expunged one stayed in place
                db,
                row.id,
                [r for r in moved if r.from_offset != self._records[r.uid].from_offset],
            )
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


def _uid(record: Record) -> int:
    return record.uid


def _without(start: int, end: int, hole: tuple[int, int] | None) -> list[tuple[int, int]]:
    """``start``..``end`` less ``hole`` (the debris of a crashed append), as ranges to scan."""
    if hole is None or hole[1] <= start or hole[0] >= end:
        return [(start, end)]
    return [(a, b) for a, b in ((start, hole[0]), (hole[1], end)) if a < b]
