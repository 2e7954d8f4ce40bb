"""The mbox index: one SQLite file per mailbox, ``<root>/.imap/maa-index.sqlite``.

mbox keeps nothing but messages, so UIDs, flags, MODSEQs, internal dates, the expunge log and
cached parse results live here, with each message's byte range in its file and a hash of its
bytes (its identity when another program rewrites the file and the offsets move).

Why SQLite rather than a file per folder (Dovecot's ``.imap/<name>/dovecot.index``): a flag
change is a row update instead of rewriting an index file, transactions make a crash leave
the old or the new state, and several maa processes (the server and ``maa deliver``) can share
it safely. WAL mode lets readers run beside a writer; ``synchronous=FULL`` makes every commit
durable before an append returns its UID or a flag change is answered.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from maa.storage.interface import MessageInfo

# The index lives in ``<root>/.imap/``, the directory Dovecot keeps its own mbox indexes in:
# Dovecot never lists ``.imap`` as a mailbox. Directly in the root, Dovecot took the index and
# its -wal/-shm files for mailboxes, and waited on SQLite's locks of the -shm file.
INDEX_DIR = ".imap"
INDEX_FILE = "maa-index.sqlite"
# Where maa kept the index before (``<root>/.maa-index.sqlite``): moved on first open.
OLD_INDEX_FILE = ".maa-index.sqlite"
# How long a writer waits for another process's SQLite transaction before giving up; the
# transactions here are short (no file I/O inside them), so this is only ever hit when a
# process is stuck.
BUSY_TIMEOUT = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS folder (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    uidvalidity INTEGER NOT NULL,
    uidnext INTEGER NOT NULL,
    highestmodseq INTEGER NOT NULL,
    recent_uid INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    file_ino INTEGER NOT NULL,
    file_size INTEGER NOT NULL,
    file_mtime_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS message (
    folder INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    from_offset INTEGER NOT NULL,
    body_offset INTEGER NOT NULL,
    body_end INTEGER NOT NULL,
    size INTEGER NOT NULL,
    fingerprint BLOB NOT NULL,
    loose BLOB NOT NULL,
    flags TEXT NOT NULL,
    internal_date REAL NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (folder, uid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS expunged (
    folder INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (folder, uid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cache (
    folder INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    field TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (folder, uid, field)
) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class Record:
    """One message as the index knows it."""

    uid: int
    from_offset: int
    body_offset: int
    body_end: int
    size: int
    fingerprint: bytes  # hash of its bytes on disk, From_ line included
    loose: bytes  # the same without the status headers mail readers rewrite
    flags: frozenset[str]
    internal_date: float
    modseq: int

    def info(self) -> MessageInfo:
        return MessageInfo(self.uid, self.flags, self.size, self.internal_date, self.modseq)


@dataclass(frozen=True, slots=True)
class FileStamp:
    """What the mbox file looked like when the index last matched it."""

    ino: int = 0
    size: int = 0
    mtime_ns: int = 0


@dataclass(frozen=True, slots=True)
class FolderRow:
    id: int
    name: str
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    recent_uid: int
    generation: int
    stamp: FileStamp


def _flags_text(flags: Iterable[str]) -> str:
    return " ".join(sorted(flags))


def _flags_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


class Index:
    """The SQLite connection of one store; every use goes through ``lock`` (one connection is
    shared by the store's threads)."""

    def __init__(self, path: Path) -> None:
        self.lock = threading.RLock()
        self._db = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)  # idempotent; executescript commits by itself

    def close(self) -> None:
        with self.lock:
            self._db.close()

    @contextlib.contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken at once (no lock upgrade deadlocks between processes).
        ``durable=False`` skips the fsync for data that can be rebuilt (cached parses)."""
        with self.lock:
            if not durable:
                self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            finally:
                if not durable:
                    self._db.execute("PRAGMA synchronous=FULL")

    # Folders

    def folder_row(self, name: str) -> FolderRow | None:
        with self.lock:
            row = self._db.execute(
                "SELECT id, name, uidvalidity, uidnext, highestmodseq, recent_uid, generation,"
                " file_ino, file_size, file_mtime_ns FROM folder WHERE name = ?",
                (name,),
            ).fetchone()
        if row is None:
            return None
        folder_id, found, uidvalidity, uidnext, modseq, recent_uid, generation, *stamp = row
        return FolderRow(
            folder_id,
            found,
            uidvalidity,
            uidnext,
            modseq,
            recent_uid,
            generation,
            FileStamp(*stamp),
        )

    def create_folder_row(
        self, db: sqlite3.Connection, name: str, uidvalidity: int | None = None
    ) -> FolderRow:
        """A new folder's row, with a UIDVALIDITY never used before in this mailbox."""
        last = db.execute("SELECT value FROM meta WHERE key = 'uidvalidity'").fetchone()
        fresh = max(int(time.time()), (last[0] if last else 0) + 1)
        if uidvalidity is None or uidvalidity <= 0:
            uidvalidity = fresh
        db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('uidvalidity', ?)",
            (max(fresh, uidvalidity),),
        )
        cursor = db.execute(
            "INSERT INTO folder (name, uidvalidity, uidnext, highestmodseq, recent_uid,"
            " generation, file_ino, file_size, file_mtime_ns) VALUES (?, ?, 1, 1, 1, 1, 0, 0, 0)",
            (name, uidvalidity),
        )
        assert cursor.lastrowid is not None
        return FolderRow(cursor.lastrowid, name, uidvalidity, 1, 1, 1, 1, FileStamp())

    def save_folder_row(self, db: sqlite3.Connection, row: FolderRow) -> FolderRow:
        """Write ``row`` back with its generation raised (so other processes reload)."""
        row = replace(row, generation=row.generation + 1)
        db.execute(
            "UPDATE folder SET uidvalidity = ?, uidnext = ?, highestmodseq = ?, recent_uid = ?,"
            " generation = ?, file_ino = ?, file_size = ?, file_mtime_ns = ? WHERE id = ?",
            (
                row.uidvalidity,
                row.uidnext,
                row.highestmodseq,
                row.recent_uid,
                row.generation,
                row.stamp.ino,
                row.stamp.size,
                row.stamp.mtime_ns,
                row.id,
            ),
        )
        return row

    def drop_folder(self, db: sqlite3.Connection, name: str) -> None:
        row = db.execute("SELECT id FROM folder WHERE name = ?", (name,)).fetchone()
        if row is None:
            return
        for table in ("message", "expunged", "cache"):
            db.execute(f"DELETE FROM {table} WHERE folder = ?", (row[0],))
        db.execute("DELETE FROM folder WHERE id = ?", (row[0],))

    def drop_folders_under(self, db: sqlite3.Connection, name: str) -> None:
        """Forget leftover rows of ``name`` and ``name.*`` (folders removed behind maa's back)."""
        rows = db.execute(
            "SELECT name FROM folder WHERE name = ? OR substr(name, 1, ?) = ?",
            (name, len(name) + 1, name + "."),
        ).fetchall()
        for (found,) in rows:
            self.drop_folder(db, found)

    def rename_folders(self, db: sqlite3.Connection, old: str, new: str) -> None:
        """Rename ``old`` and every ``old.*`` to ``new`` and ``new.*``."""
        db.execute("UPDATE folder SET name = ? WHERE name = ?", (new, old))
        rows = db.execute(
            "SELECT id, name FROM folder WHERE substr(name, 1, ?) = ?", (len(old) + 1, old + ".")
        ).fetchall()
        for folder_id, name in rows:
            db.execute(
                "UPDATE folder SET name = ? WHERE id = ?", (new + name[len(old) :], folder_id)
            )

    def rename_one_folder(self, db: sqlite3.Connection, old: str, new: str) -> None:
        db.execute("UPDATE folder SET name = ? WHERE name = ?", (new, old))

    # Messages

    def records(self, folder_id: int) -> list[Record]:
        with self.lock:
            rows = self._db.execute(
                "SELECT uid, from_offset, body_offset, body_end, size, fingerprint, loose,"
                " flags, internal_date, modseq FROM message WHERE folder = ? ORDER BY uid",
                (folder_id,),
            ).fetchall()
        return [
            Record(
                r[0], r[1], r[2], r[3], r[4], bytes(r[5]), bytes(r[6]), _flags_set(r[7]), r[8], r[9]
            )
            for r in rows
        ]

    def put_records(
        self, db: sqlite3.Connection, folder_id: int, records: Iterable[Record]
    ) -> None:
        db.executemany(
            "INSERT OR REPLACE INTO message (folder, uid, from_offset, body_offset, body_end,"
            " size, fingerprint, loose, flags, internal_date, modseq)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    folder_id,
                    r.uid,
                    r.from_offset,
                    r.body_offset,
                    r.body_end,
                    r.size,
                    r.fingerprint,
                    r.loose,
                    _flags_text(r.flags),
                    r.internal_date,
                    r.modseq,
                )
                for r in records
            ],
        )

    def put_flags(self, db: sqlite3.Connection, folder_id: int, records: Iterable[Record]) -> None:
        db.executemany(
            "UPDATE message SET flags = ?, modseq = ? WHERE folder = ? AND uid = ?",
            [(_flags_text(r.flags), r.modseq, folder_id, r.uid) for r in records],
        )

    def remove_records(
        self, db: sqlite3.Connection, folder_id: int, uids: Iterable[int], modseq: int
    ) -> None:
        """Delete messages, logging them as expunged at ``modseq`` (for QRESYNC)."""
        rows = [(folder_id, uid) for uid in uids]
        db.executemany("DELETE FROM message WHERE folder = ? AND uid = ?", rows)
        db.executemany("DELETE FROM cache WHERE folder = ? AND uid = ?", rows)
        db.executemany(
            "INSERT OR REPLACE INTO expunged (folder, uid, modseq) VALUES (?, ?, ?)",
            [(folder_id, uid, modseq) for _, uid in rows],
        )

    def drop_cached(self, db: sqlite3.Connection, folder_id: int, uids: Iterable[int]) -> None:
        db.executemany(
            "DELETE FROM cache WHERE folder = ? AND uid = ?", [(folder_id, uid) for uid in uids]
        )

    def vanished_since(self, folder_id: int, modseq: int) -> list[int]:
        with self.lock:
            rows = self._db.execute(
                "SELECT uid FROM expunged WHERE folder = ? AND modseq > ? ORDER BY uid",
                (folder_id, modseq),
            ).fetchall()
        return [row[0] for row in rows]

    # Cached parse results

    def get_cached(self, folder_id: int, uid: int, field: str) -> bytes | None:
        with self.lock:
            row = self._db.execute(
                "SELECT value FROM cache WHERE folder = ? AND uid = ? AND field = ?",
                (folder_id, uid, field),
            ).fetchone()
        return None if row is None else bytes(row[0])

    def set_cached(self, folder_id: int, uid: int, field: str, value: bytes) -> None:
        with self.transaction(durable=False) as db:
            exists = db.execute(
                "SELECT 1 FROM message WHERE folder = ? AND uid = ?", (folder_id, uid)
            ).fetchone()
            if exists:
                db.execute(
                    "INSERT OR REPLACE INTO cache (folder, uid, field, value) VALUES (?,?,?,?)",
                    (folder_id, uid, field, value),
                )
