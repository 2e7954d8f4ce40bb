"""Reconciling a folder's index with the files in new/ and cur/: a full comparison of every
name (``scan``), or only of the names that differ from what the index is known to hold
(``rescan``). Both run under the folder's lock and dotlock (see ``FolderState.sync``)."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from maa.storage.lineends import CHUNK_SIZE, crlf_size
from maa.storage.maildir import filename, uidlist
from maa.storage.maildir.index import Row
from maa.storage.maildir.listing import Listing

if TYPE_CHECKING:
    from maa.storage.maildir.state import FolderState

# A directory whose mtime is this close to now may change again within the same timestamp
# tick without its mtime moving; such a scan is marked dirty so the next refresh rescans
# (Dovecot's MAILDIR_SYNC_SECS rule).
UNTRUSTED_MTIME_SECS = 2.0


def listing_of_index(state: FolderState) -> Listing:
    """The names the index holds: a rescan from these finds whatever the index missed."""
    names: dict[str, set[str]] = {"new": set(), "cur": set()}
    for base, subdir, info in state.index.file_names().values():
        names.setdefault(subdir, set()).add(filename.Name(base, info).filename)
    return Listing(names)


def scan(state: FolderState, names: dict[str, set[str]], stable: bool, before: str) -> bool:
    """Compare every name with the index (a new process, a new UIDVALIDITY, or a
    listing that kept changing while it was read)."""
    state.listing = None
    state._status = None
    fresh_listing = Listing(names)
    listing = fresh_listing.bases
    current = state._uidlist_locked()
    meta = state.index.meta()
    if meta.get("uidvalidity") != str(current.uidvalidity):
        state.cache_writes.drop()
        state.index.reset(current.uidvalidity)
    known = state.index.file_names()
    added = [current.add(base) for base in sorted(set(listing) - set(current.by_base))]
    if added:
        uidlist.append(state.uidlist_path, current, added, state.owner)
    missing = {uid for uid, base in current.records.items() if base not in listing}
    if stable and missing:
        current.remove(missing)
        uidlist.rewrite(state.uidlist_path, current, state.owner)
    state._uidlist_written()

    inserts: list[Row] = []
    updates: list[Row] = []
    unindexed: list[tuple[str, str]] = []
    for uid, base in current.records.items():
        entry = listing.get(base)
        if entry is None:
            continue
        subdir, info = entry
        indexed = known.pop(uid, None)
        if indexed is None or indexed[0] != base:
            new_row = _row_for_file(state, uid, base, subdir, info)
            if new_row is None:
                unindexed.append((subdir, filename.Name(base, info).filename))
            else:
                inserts.append(new_row)
        elif indexed[1:] != entry:
            row = state.index.row(uid)
            if row is not None:
                flags = state.flags_from_info(info, row.flags)
                updates.append(row._replace(subdir=subdir, info=info, flags=flags))
    gone = sorted(uid for uid in known if stable or uid not in current.records)
    changed = _write(state, inserts, updates, gone, current, stable, before) is not None
    if changed:
        state.invalidate()
    if stable:
        for name in unindexed:  # vanished while being indexed: the next rescan looks
            fresh_listing.discard(*name)
        state.listing = fresh_listing
    return changed


def rescan(state: FolderState, known: Listing, names: dict[str, set[str]], before: str) -> bool:
    """Index work only for the base names whose file appeared, went or was renamed
    since ``known`` (a stable listing): our own changes are in ``known`` already."""
    affected = known.update(names)
    current = state._uidlist_locked()
    present = known.bases
    new = sorted(b for b in affected if b in present and b not in current.by_base)
    if new:
        uidlist.append(state.uidlist_path, current, [current.add(b) for b in new], state.owner)
    absent = {b for b in affected if b not in present}
    missing = {current.by_base[b] for b in absent if b in current.by_base}
    if missing:
        current.remove(missing)
        uidlist.rewrite(state.uidlist_path, current, state.owner)
    state._uidlist_written()
    rows = state.rows()
    if len(missing) < len(absent):
        # Gone from the uidlist already (another process expunged it and may not have
        # reached the index yet, or crashed before it did): find its row by name.
        missing |= {row.uid for row in rows.values() if row.base in absent}
    inserts: list[Row] = []
    updates: list[Row] = []
    for base in sorted(affected - absent):
        subdir, info = present[base]
        uid = current.by_base[base]
        row = rows.get(uid)
        if row is None or row.base != base:
            new_row = _row_for_file(state, uid, base, subdir, info)
            if new_row is None:
                known.discard(subdir, filename.Name(base, info).filename)
            else:
                inserts.append(new_row)
        elif (row.subdir, row.info) != (subdir, info):
            flags = state.flags_from_info(info, row.flags)
            updates.append(row._replace(subdir=subdir, info=info, flags=flags))
    gone = sorted(uid for uid in missing if uid in rows)
    written = _write(state, inserts, updates, gone, current, True, before)
    if written is not None:
        state.apply(written, gone)
    return written is not None


def _write(
    state: FolderState,
    inserts: list[Row],
    updates: list[Row],
    gone: list[int],
    current: uidlist.Uidlist,
    stable: bool,
    before: str,
) -> list[Row] | None:
    """Record a scan's findings and the stamps it saw, in one index transaction; the
    rows written (with their MODSEQ), None if nothing changed."""
    now = time.time()
    mtimes = [int(s.split(":")[0]) / 1e9 for s in before.split("|")[:2] if s != "-"]
    dirty = not stable or any(now - m < UNTRUSTED_MTIME_SECS for m in mtimes)
    written: list[Row] | None = None
    uidnext_before = state.index.meta_int("uidnext", 1)
    with state.index.transaction():
        if inserts or updates or gone:
            modseq = state.index.next_modseq()
            written = [r._replace(modseq=modseq) for r in inserts + updates]
            state.index.insert(written[: len(inserts)])
            state.index.update_files(written[len(inserts) :])
            if gone:
                state.index.delete(gone, modseq)
                state.cache_writes.forget(gone)
        uidnext = max(state.index.meta_int("uidnext", 1), current.next_uid)
        stamps = before.rsplit("|", 1)[0] + "|" + state._uidlist_stamp
        state.index.set_meta(uidnext=uidnext, stamps=stamps, dirty=int(dirty))
    if written is not None or uidnext != uidnext_before:
        state._status = None
    return written


def _row_for_file(
    state: FolderState, uid: int, base: str, subdir: str, info: str | None
) -> Row | None:
    """Index a message this process did not write: one stat (the internal date is the
    mtime, Dovecot's rule) and, only for a name without ``,W=``, one read."""
    path = f"{state.path}/{subdir}/{filename.Name(base, info).filename}"
    size, vsize = filename.sizes(base)
    try:
        if vsize is None:
            st, vsize = _stat_and_crlf_size(path)
        else:
            st = os.stat(path)
    except FileNotFoundError:
        return None
    flags = state.flags_from_info(info)
    return Row(
        uid, base, subdir, info, flags, size or st.st_size, vsize, float(int(st.st_mtime)), 0
    )


def _stat_and_crlf_size(path: str) -> tuple[os.stat_result, int]:
    """One open for both: a first SELECT of a folder copied from elsewhere (names without
    ``,W=``) does this for every message."""
    fd = os.open(path, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        return st, crlf_size(iter(lambda: os.read(fd, CHUNK_SIZE), b""))
    finally:
        os.close(fd)
