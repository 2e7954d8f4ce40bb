"""The per-folder index, ``maa-index.sqlite``: what answers ``messages()`` and ``status()``.

The Maildir files and dovecot-uidlist stay the truth; the index is a cache of them plus what
Maildir cannot hold (MODSEQ, the expunge log, cached envelopes). So WAL with
``synchronous=NORMAL`` is enough: a lost index transaction is rebuilt from the files, and a
missing or corrupt index file is recreated from scratch.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from maa.storage.maildir.durable import chown

FILENAME = "maa-index.sqlite"
# Tries to open the index while another process holds it in a way sqlite cannot wait out.
_OPEN_ATTEMPTS = 20
SCHEMA_VERSION = 1
# A second process may hold the write lock while it syncs a large folder.
BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS msg (
    uid INTEGER PRIMARY KEY,
    base TEXT NOT NULL,
    subdir TEXT NOT NULL,
    info TEXT,
    flags TEXT NOT NULL,
    size INTEGER NOT NULL,
    vsize INTEGER NOT NULL,
    date REAL NOT NULL,
    modseq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cache (
    uid INTEGER NOT NULL, field TEXT NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY (uid, field)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS expunged (uid INTEGER PRIMARY KEY, modseq INTEGER NOT NULL);
"""


class Row(NamedTuple):
    uid: int
    base: str
    subdir: str  # "new" or "cur"
    info: str | None
    flags: frozenset[str]
    size: int  # bytes on disk (LF)
    vsize: int  # bytes of the CRLF form
    date: float
    modseq: int

    @property
    def filename(self) -> str:
        return self.base if self.info is None else f"{self.base}:2,{self.info}"


def _flags_text(flags: frozenset[str]) -> str:
    return " ".join(sorted(flags))


_FLAG_SETS: dict[str, frozenset[str]] = {}


def _flag_set(text: str) -> frozenset[str]:
    """Flag sets are few and shared by many messages: parse each text once."""
    flags = _FLAG_SETS.get(text)
    if flags is None:
        if len(_FLAG_SETS) > 4096:  # keyword-heavy folders: keep the memo bounded
            _FLAG_SETS.clear()
        flags = _FLAG_SETS[text] = frozenset(text.split())
    return flags


def _row(values: tuple[Any, ...]) -> Row:
    uid, base, subdir, info, flags, size, vsize, date, modseq = values
    return Row(uid, base, subdir, info, _flag_set(flags), size, vsize, date, modseq)


class FolderIndex:
    """One sqlite connection, shared by the threads of this process under ``lock``."""

    def __init__(self, path: Path, owner: tuple[int, int] | None) -> None:
        self.path = path
        self.lock = threading.RLock()
        for attempt in range(_OPEN_ATTEMPTS):
            try:
                self._db = self._connect(owner)
                self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchall()
                break
            except sqlite3.OperationalError:
                # Busy, or caught halfway through another process making the file: it is
                # that process's to finish, not ours to remove.
                if attempt == _OPEN_ATTEMPTS - 1:
                    raise
                with contextlib.suppress(AttributeError):
                    self._db.close()
                time.sleep(0.05)
            except sqlite3.DatabaseError:
                # Not a database, or a damaged one: the index is only a cache, so start over.
                self._discard()
                self._db = self._connect(owner)
                break
        self._depth = 0

    def _connect(self, owner: tuple[int, int] | None) -> sqlite3.Connection:
        if not self.path.exists():
            # Owned before sqlite opens it: running as root, sqlite gives its -wal and -shm
            # files the database file's owner.
            self.path.touch(mode=0o600)
            chown(self.path, owner)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.executescript(_SCHEMA)
        return db

    def _discard(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").unlink()

    def close(self) -> None:
        with self.lock:
            self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction (nested calls join the outer one)."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    # --- meta -------------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        with self.lock:
            return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, **values: object) -> None:
        with self.transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [(k, str(v)) for k, v in values.items()],
            )

    def meta_int(self, key: str, default: int = 0) -> int:
        with self.lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else default

    def raise_meta(self, key: str, at_least: int) -> None:
        """Set the integer ``key`` to ``at_least`` unless it is already higher."""
        with self.lock:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
                " SET value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                (key, str(at_least)),
            )

    def next_modseq(self) -> int:
        """Raise and return the folder's HIGHESTMODSEQ (inside a transaction), in one
        statement: an append's index write is on the path to its reply."""
        with self.transaction():
            raised = self._db.execute(
                "UPDATE meta SET value = CAST(value AS INTEGER) + 1"
                " WHERE key = 'highestmodseq' RETURNING value"
            ).fetchall()
            if raised:
                return int(raised[0][0])
            self.set_meta(highestmodseq=2)
            return 2

    def data_version(self) -> int:
        """Changes whenever another connection commits (sqlite's PRAGMA data_version)."""
        with self.lock:
            return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def reset(self, uidvalidity: int) -> None:
        """Forget everything: a new or replaced dovecot-uidlist."""
        with self.transaction():
            modseq = self.meta_int("highestmodseq", 1)
            for table in ("msg", "cache", "expunged", "meta"):
                self._db.execute(f"DELETE FROM {table}")
            self.set_meta(
                schema=SCHEMA_VERSION,
                uidvalidity=uidvalidity,
                uidnext=1,
                highestmodseq=modseq,
                first_recent_uid=1,
            )

    # --- messages -----------------------------------------------------------------------

    def rows(self) -> list[Row]:
        with self.lock:
            cursor = self._db.execute("SELECT * FROM msg ORDER BY uid")
            return [_row(values) for values in cursor.fetchall()]

    def file_names(self) -> dict[int, tuple[str, str, str | None]]:
        """uid -> (base, subdir, info): what a sync compares with the directories."""
        with self.lock:
            cursor = self._db.execute("SELECT uid, base, subdir, info FROM msg")
            return {uid: (base, subdir, info) for uid, base, subdir, info in cursor.fetchall()}

    def row(self, uid: int) -> Row | None:
        with self.lock:
            values = self._db.execute("SELECT * FROM msg WHERE uid = ?", (uid,)).fetchone()
        return None if values is None else _row(values)

    def insert(self, rows: Iterable[Row]) -> None:
        with self.transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO msg VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*r[:4], _flags_text(r.flags), *r[5:]) for r in rows],
            )

    def update_files(self, rows: Iterable[Row]) -> None:
        """Store new file names, flags and MODSEQs of existing messages."""
        with self.transaction():
            self._db.executemany(
                "UPDATE msg SET subdir = ?, info = ?, flags = ?, modseq = ? WHERE uid = ?",
                [(r.subdir, r.info, _flags_text(r.flags), r.modseq, r.uid) for r in rows],
            )

    def delete(self, uids: list[int], modseq: int) -> None:
        with self.transaction():
            params = [(uid,) for uid in uids]
            self._db.executemany("DELETE FROM msg WHERE uid = ?", params)
            self._db.executemany("DELETE FROM cache WHERE uid = ?", params)
            self._db.executemany(
                "INSERT OR REPLACE INTO expunged VALUES (?, ?)", [(uid, modseq) for uid in uids]
            )

    def count(self) -> int:
        with self.lock:
            return int(self._db.execute("SELECT COUNT(*) FROM msg").fetchone()[0])

    def counts(self, first_recent_uid: int) -> tuple[int, int, int]:
        """(messages, unseen, recent) straight from the table."""
        with self.lock:
            total, seen, recent = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(' ' || flags || ' ' LIKE '% \\Seen %'), 0),"
                " COALESCE(SUM(uid >= ? OR subdir = 'new'), 0) FROM msg",
                (first_recent_uid,),
            ).fetchone()
        return int(total), int(total) - int(seen), int(recent)

    def vanished_since(self, modseq: int) -> list[int]:
        with self.lock:
            cursor = self._db.execute(
                "SELECT uid FROM expunged WHERE modseq > ? ORDER BY uid", (modseq,)
            )
            return [int(uid) for (uid,) in cursor.fetchall()]

    # --- cache --------------------------------------------------------------------------

    def get_cached(self, uid: int, field: str) -> bytes | None:
        with self.lock:
            row = self._db.execute(
                "SELECT value FROM cache WHERE uid = ? AND field = ?", (uid, field)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def set_cached(self, uid: int, field: str, value: bytes) -> None:
        with self.transaction():
            exists = self._db.execute("SELECT 1 FROM msg WHERE uid = ?", (uid,)).fetchone()
            if exists:
                self._db.execute(
                    "INSERT OR REPLACE INTO cache VALUES (?, ?, ?)", (uid, field, bytes(value))
                )

    def cached_from(self, field: str, uid: int, limit: int) -> list[tuple[int, bytes]]:
        """The ``field`` values cached for the first ``limit`` messages from ``uid`` up
        (what a SEARCH over the folder reads next), ascending UID."""
        with self.lock:
            cursor = self._db.execute(
                "SELECT uid, value FROM cache WHERE field = ? AND uid >= ? ORDER BY uid LIMIT ?",
                (field, uid, limit),
            )
            return [(int(u), bytes(v)) for u, v in cursor.fetchall()]

    def set_cached_many(self, values: Iterable[tuple[int, str, bytes]]) -> None:
        """``set_cached`` for many (uid, field, value) at once, in one transaction."""
        with self.transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO cache SELECT ?, ?, ? WHERE EXISTS"
                " (SELECT 1 FROM msg WHERE uid = ?)",
                [(uid, field, bytes(value), uid) for uid, field, value in values],
            )
