"""Reconciling a folder's index with the files in new/ and cur/: a full comparison of every
name (``scan``), or only of the names that differ from what the index is known to hold
(``rescan``). Both run under the folder's lock and dotlock (see ``FolderState.sync``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from maa.storage.lineends import CHUNK_SIZE, crlf_size
from maa.storage.maildir import filename, uidlist
from maa.storage.maildir.index import Row
from maa.storage.maildir.listing import SUBDIRS, Listing

if TYPE_CHECKING:
    from maa.storage.maildir.state import FolderState

# A directory whose mtime is this close to the time its listing began may change again
# within the same timestamp tick without its mtime moving; such a directory is marked dirty
# so the next refresh lists it again (Dovecot's MAILDIR_SYNC_SECS rule). A filesystem that
# keeps whole seconds (ext3, some NFS servers) gets Dovecot's two seconds; one with sub-second
# timestamps takes them from the kernel's coarse clock, which lags the real time by at most a
# scheduler tick (10 ms at HZ=100), so a tenth of a second is already past any tick. Every
# command in the seconds after a change would otherwise list a large cur/ again.
UNTRUSTED_MTIME_SECS = 2.0
UNTRUSTED_FINE_MTIME_SECS = 0.1
# After this process changes a subdirectory itself (a STORE's renames, new/ to cur/, an
# expunge, a delivery), listing it again would show only what it already knows, unless
# another writer changed it within the same timestamp tick. Like Dovecot (dirty_cur_time),
# that listing is put off for this long after the first such change, so that a run of
# commands does not list a large cur/ after each one; a later change that moves the
# directory's stamp again is listed at once.
DEFER_SECS = 1.0
_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Seen:
    """What a listing saw: the stamps of new/, cur/ and the uidlist (``"new|cur|uidlist"``)
    read just before it, the time read before them, and the subdirectories listed. The others
    were taken from the known listing: their ``stamps`` are the last scan's, and ``kept_dirty``
    those of them that scan could not trust, so that recording this one keeps both."""

    stamps: str
    at: float
    listed: tuple[str, ...] = SUBDIRS
    kept_dirty: frozenset[str] = frozenset()


def untrusted(stamp: str, at: float) -> bool:
    """A directory stamp too recent, at time ``at``, to prove that a change after it would
    move it."""
    if stamp == "-":
        return False
    mtime_ns = int(stamp.split(":", 1)[0])
    window = UNTRUSTED_FINE_MTIME_SECS if mtime_ns % _NS else UNTRUSTED_MTIME_SECS
    return at - mtime_ns / _NS < window


def dirty_subdirs(value: str | None) -> set[str]:
    """The index's ``dirty`` mark: "0" none, "1" (older versions) all, else a comma list."""
    if value == "0":
        return set()
    if value is None or value == "1":
        return set(SUBDIRS)
    return {d for d in value.split(",") if d in SUBDIRS}


def to_list(
    recorded: str | None,
    dirty: set[str],
    stamps: str,
    own_uidlist: str = "",
    deferred: frozenset[str] = frozenset(),
) -> tuple[str, ...]:
    """The subdirectories to list again: marked dirty, or with a stamp other than the one
    recorded by the last scan, unless ``deferred`` (their stamp is the one this process's
    own change left, see ``DEFER_SECS``). All of them when nothing was recorded or the
    uidlist changed in a way this process did not make or read (``own_uidlist``: its stamp
    as this process last wrote or loaded it; an append records UIDs there without a scan)."""
    old = (recorded or "").split("|")
    now = stamps.split("|")
    if len(old) != 3 or now[2] not in (old[2], own_uidlist):
        return tuple(d for d in SUBDIRS if d not in deferred)
    return tuple(
        d for i, d in enumerate(SUBDIRS) if d not in deferred and (d in dirty or old[i] != now[i])
    )


def listing_of_index(state: FolderState) -> Listing:
    """The names the index holds: a rescan from these finds whatever the index missed."""
    names: dict[str, set[str]] = {"new": set(), "cur": set()}
    for base, subdir, info in state.index.file_names().values():
        names.setdefault(subdir, set()).add(filename.Name(base, info).filename)
    return Listing(names)


def scan(state: FolderState, names: dict[str, set[str]], stable: bool, seen: Seen) -> bool:
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
    was_empty = not known
    added = [current.add(base) for base in sorted(set(listing) - set(current.by_base))]
    if added:
        uidlist.append(state.uidlist_path, current, added, state.owner)
    missing = {uid for uid, base in current.records.items() if base not in listing}
    if stable and missing:
        current.remove(missing)
        uidlist.rewrite(state.uidlist_path, current, state.owner)
    state._uidlist_written()

    flags_of = filename.FlagReader(state.keywords())
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
            new_row = _row_for_file(state, uid, base, subdir, info, flags_of)
            if new_row is None:
                unindexed.append((subdir, filename.Name(base, info).filename))
            else:
                inserts.append(new_row)
        elif indexed[1:] != entry:
            row = state.index.row(uid)
            if row is not None:
                flags = flags_of(info, row.flags)
                updates.append(row._replace(subdir=subdir, info=info, flags=flags))
    gone = sorted(uid for uid in known if stable or uid not in current.records)
    written = _write(state, inserts, updates, gone, current, stable, seen)
    changed = written is not None
    if changed:
        state.invalidate()
        if was_empty and written is not None:
            # A first index build: what was written is the whole index, so it need not be
            # read back from sqlite (10,000 rows) by the SELECT that follows.
            state.adopt_rows(sorted(written))
    if stable:
        for name in unindexed:  # vanished while being indexed: the next rescan looks
            fresh_listing.discard(*name)
        state.listing = fresh_listing
    return changed


def rescan(state: FolderState, known: Listing, names: dict[str, set[str]], seen: Seen) -> bool:
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
    flags_of = filename.FlagReader(state.keywords())
    inserts: list[Row] = []
    updates: list[Row] = []
    for base in sorted(affected - absent):
        subdir, info = present[base]
        uid = current.by_base[base]
        row = rows.get(uid)
        if row is None or row.base != base:
            new_row = _row_for_file(state, uid, base, subdir, info, flags_of)
            if new_row is None:
                known.discard(subdir, filename.Name(base, info).filename)
            else:
                inserts.append(new_row)
        elif (row.subdir, row.info) != (subdir, info):
            flags = flags_of(info, row.flags)
            updates.append(row._replace(subdir=subdir, info=info, flags=flags))
    gone = sorted(uid for uid in missing if uid in rows)
    written = _write(state, inserts, updates, gone, current, True, seen)
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
    seen: Seen,
) -> list[Row] | None:
    """Record a scan's findings and the stamps it saw, in one index transaction; the
    rows written (with their MODSEQ), None if nothing changed."""
    stamps = seen.stamps.split("|")
    dirty = [
        d
        for i, d in enumerate(SUBDIRS)
        if not stable
        or d in seen.kept_dirty
        or (d in seen.listed and untrusted(stamps[i], seen.at))
    ]
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
        recorded = "|".join(stamps[:2]) + "|" + state._uidlist_stamp
        state.index.set_meta(uidnext=uidnext, stamps=recorded, dirty=",".join(dirty) or "0")
    if written is not None or uidnext != uidnext_before:
        state._status = None
    return written


def _row_for_file(
    state: FolderState,
    uid: int,
    base: str,
    subdir: str,
    info: str | None,
    flags_of: filename.FlagReader,
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
    return Row(
        uid,
        base,
        subdir,
        info,
        flags_of(info),
        size or st.st_size,
        vsize,
        float(int(st.st_mtime)),
        0,
    )


# A file up to this size is read in one call when its CRLF size is counted.
WHOLE_READ = 1 << 20


def _stat_and_crlf_size(path: str) -> tuple[os.stat_result, int]:
    """One open for both: a first SELECT of a folder copied from elsewhere (names without
    ``,W=``) does this for every message, most of them read in one call."""
    fd = os.open(path, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        if st.st_size <= WHOLE_READ:
            data = os.read(fd, st.st_size)
            if len(data) == st.st_size:
                return st, crlf_size(iter((data,)))
            os.lseek(fd, 0, os.SEEK_SET)
        return st, crlf_size(iter(lambda: os.read(fd, CHUNK_SIZE), b""))
    finally:
        os.close(fd)
