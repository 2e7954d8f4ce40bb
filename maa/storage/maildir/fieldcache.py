"""The per-message cache (parsed envelopes, header fields) read and written in batches.

A first ``SEARCH SUBJECT`` over a 100,000-message folder caches 100,000 values and the next
one reads them back: one sqlite transaction or query per message would cost more than
reading the message files did.
"""

from __future__ import annotations

from collections.abc import Iterable

from maa.storage.maildir.index import FolderIndex

# Values written in one transaction. Until then they are served from memory; the IMAP
# session's once-per-command refresh writes what is left. (A crash loses only cache.)
WRITE_BATCH = 512
# Values read in one query once a caller goes through a folder in ascending UID order
# (SEARCH, FETCH 1:*); a caller asking for one message reads one value.
READ_AHEAD = 512
_NO_END = 1 << 63


class PendingWrites:
    """Values set but not yet in the index: one per folder state (under its lock)."""

    def __init__(self, index: FolderIndex) -> None:
        self._index = index
        self.values: dict[tuple[int, str], bytes] = {}
        self.generation = 0  # raised by each write: windows read before it are stale

    def put(self, uid: int, field: str, value: bytes) -> None:
        self.values[(uid, field)] = value
        if len(self.values) >= WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.values:
            self._index.set_cached_many((u, f, v) for (u, f), v in self.values.items())
            self.values.clear()
            self.generation += 1

    def forget(self, uids: Iterable[int]) -> None:
        """Expunged: their values are not to be written, nor served."""
        gone = set(uids)
        for key in [k for k in self.values if k[0] in gone]:
            del self.values[key]

    def drop(self) -> None:
        """Forget them: the UIDs they were set for now name other messages."""
        self.values.clear()
        self.generation += 1


class _Window:
    """Cached values of one field read in one query: UIDs ``low`` to ``high``."""

    __slots__ = ("generation", "high", "last", "low", "values")

    def __init__(self) -> None:
        self.low = 0
        self.high = -1
        self.generation = -1
        self.last = -1  # the UID last asked for: ascending asks read ahead
        self.values: dict[int, bytes] = {}


class ReadAhead:
    """One reader's windows of cached values (one per folder handle), one per field: a
    header FETCH asks for two fields per message in turn, and a single window would have
    been read again for each ask."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}

    def get(self, index: FolderIndex, pending: PendingWrites, uid: int, field: str) -> bytes | None:
        if pending.values:
            value = pending.values.get((uid, field))
            if value is not None:
                return value
        window = self._windows.get(field)
        if window is None:
            window = self._windows[field] = _Window()
        elif window.low <= uid <= window.high and window.generation == pending.generation:
            window.last = uid
            return window.values.get(uid)
        previous, window.last = window.last, uid
        if previous < 0 or uid <= previous:
            return index.get_cached(uid, field)
        rows = index.cached_from(field, uid, READ_AHEAD)
        window.low, window.generation = uid, pending.generation
        # Fewer rows than asked for: nothing above them was cached when they were read.
        window.high = rows[-1][0] if len(rows) == READ_AHEAD else _NO_END
        window.values = dict(rows)
        return window.values.get(uid)
