"""The message cache's read-ahead: ascending reads of several fields take a query per
window, not one per value."""

from __future__ import annotations

from pathlib import Path

from maa.storage.maildir.fieldcache import READ_AHEAD, PendingWrites, ReadAhead
from maa.storage.maildir.index import FolderIndex, Row

COUNT = 3 * READ_AHEAD


def _index(tmp_path: Path) -> FolderIndex:
    index = FolderIndex(tmp_path / "index.db", None)
    index.insert(
        Row(uid, f"{uid}.M1P1.host", "cur", "S", frozenset(), 10, 11, 0.0, 1)
        for uid in range(1, COUNT + 1)
    )
    return index


def _queries(index: FolderIndex) -> list[str]:
    seen: list[str] = []
    index._db.set_trace_callback(seen.append)
    return seen


def test_two_fields_read_in_turn_share_no_window(tmp_path: Path) -> None:
    index = _index(tmp_path)
    index.set_cached_many(
        (uid, field, b"%s %d" % (field.encode(), uid))
        for uid in range(1, COUNT + 1)
        for field in ("a", "b")
        if uid % 7  # some values missing
    )
    pending, reader = PendingWrites(index), ReadAhead()
    queries = _queries(index)
    for uid in range(1, COUNT + 1):
        for field in ("a", "b"):
            value = reader.get(index, pending, uid, field)
            assert value == (b"%s %d" % (field.encode(), uid) if uid % 7 else None)
    assert len(queries) <= 2 * (COUNT // READ_AHEAD + 2)


def test_a_first_pass_over_an_empty_cache_queries_once_per_field(tmp_path: Path) -> None:
    index = _index(tmp_path)
    pending, reader = PendingWrites(index), ReadAhead()
    queries = _queries(index)
    for uid in range(1, COUNT + 1):
        for field in ("a", "b"):
            assert reader.get(index, pending, uid, field) is None
            pending.put(uid, field, b"x")  # written in batches as the pass goes
    assert reader.get(index, pending, 5, "a") == b"x"
    writes = sum(q.startswith("INSERT") for q in queries)
    reads = sum(q.startswith("SELECT uid, value") for q in queries)
    assert reads <= 2 * (writes + 2)
    assert reads < COUNT // 10
