"""One folder's process-wide state: its index connection, cached uidlist and keywords, the
group commit of appends, and the sync that reconciles the index with the files on disk.

Every ``MaildirFolder`` for the same directory shares one ``FolderState`` (see ``state_for``),
so one lock orders all of this process's changes to a folder. Other processes are ordered
by the dovecot-uidlist dotlock (UIDs, keywords) and by sqlite's own locking (the index).
"""

from __future__ import annotations

import bisect
import contextlib
import os
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from maa.storage.interface import SEEN, FolderStatus, MessageInfo, TemporaryStorageError
from maa.storage.maildir import filename, index, keywords, scan, uidlist
from maa.storage.maildir.dotlock import dotlock
from maa.storage.maildir.durable import (
    CAN_SYNC_FILESYSTEM,
    fsync_dir,
    stamp,
    sync_file_data,
    sync_filesystem,
)
from maa.storage.maildir.fieldcache import PendingWrites
from maa.storage.maildir.groupcommit import GroupCommit
from maa.storage.maildir.index import FolderIndex, Row
from maa.storage.maildir.listing import SUBDIRS, Listing

# Where listing after our own change may be put off (see ``FolderState.changed``).
DEFERRABLE = frozenset({"cur"})

# listdir of new/ and cur/ is retried this often when a directory changes during the scan
# (a rename racing readdir may hide a file); after that, no file is taken as expunged.
SCAN_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Pending:
    """A message file waiting for its UID: already durable in new/ or cur/, or (``tmp``
    set) written in tmp/ but not yet synced, for the commit to sync and move into place."""

    base: str
    subdir: str
    info: str | None
    flags: frozenset[str]
    size: int
    vsize: int
    date: float
    tmp: Path | None = None


class FolderState:
    def __init__(self, path: Path, owner: tuple[int, int] | None) -> None:
        self.path = path
        self.dir_name = str(path)  # as a string, for per-message paths
        self.owner = owner
        self.lock = threading.RLock()
        self.gone = False  # deleted or renamed away: handles still held must not touch it
        self.index = FolderIndex(path / index.FILENAME, owner)
        self.uidlist_path = path / uidlist.FILENAME
        self.keywords_path = path / keywords.FILENAME
        self._uidlist: uidlist.Uidlist | None = None
        self._uidlist_stamp = ""
        self._keywords: list[str] = []
        self._keywords_stamp = ""
        self._dotlock_depth = 0
        self._rows: dict[int, Row] | None = None
        self._rows_version = -1
        self._infos: tuple[MessageInfo, ...] | None = None
        self._infos_of: dict[int, Row] | None = None
        # The names the index matches, once a stable scan made it known: what a rescan
        # compares with (None: the next rescan compares every name with the index).
        self.listing: Listing | None = None
        # Per subdirectory, the stamp this process's own last change left and until when
        # listing it again is put off (``scan.DEFER_SECS``).
        self._own: dict[str, tuple[str, float]] = {}
        # The highest MODSEQ of a flag change or expunge among the rows in memory, as far as
        # this process knows (all of them may have changed when they were last loaded).
        self.touched = 0
        self._relist = False
        # ``status()`` as of an index version, dropped by every write of this process.
        self._status: tuple[int, FolderStatus] | None = None
        self.cache_writes = PendingWrites(self.index)
        self.appends: GroupCommit[Pending, int] = GroupCommit(
            self._commit_appends, staged=lambda p: p.tmp is not None
        )
        self.sync()

    # --- locking ------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """The dovecot-uidlist dotlock, re-entrant within this state."""
        with self.lock:
            if self._dotlock_depth:
                self._dotlock_depth += 1
                try:
                    yield
                finally:
                    self._dotlock_depth -= 1
                return
            with dotlock(self.uidlist_path, owner=self.owner):
                self._dotlock_depth = 1
                try:
                    yield
                finally:
                    self._dotlock_depth = 0

    # --- uidlist and keywords -------------------------------------------------------------

    def _uidlist_locked(self) -> uidlist.Uidlist:
        current = stamp(self.uidlist_path)
        if self._uidlist is not None and current == self._uidlist_stamp:
            return self._uidlist
        if self._uidlist is not None:
            # Another process assigned or dropped UIDs: what it did to new/ and cur/ may
            # hide behind a stamp our own change left, so nothing is put off and the next
            # sync lists both.
            self._own.clear()
            self._relist = True
        try:
            loaded = uidlist.load(self.uidlist_path)
        except (uidlist.UidlistError, ValueError):
            loaded = None  # unreadable: start over with a new UIDVALIDITY, as Dovecot does
        if loaded is None:
            loaded = uidlist.create(self.uidlist_path, self.owner)
        self._uidlist = loaded
        self._uidlist_stamp = stamp(self.uidlist_path)
        return loaded

    def _uidlist_written(self) -> None:
        self._uidlist_stamp = stamp(self.uidlist_path)

    def keywords(self) -> list[str]:
        with self.lock:
            current = stamp(self.keywords_path)
            if current != self._keywords_stamp:
                self._keywords = keywords.load(self.keywords_path)
                self._keywords_stamp = current
            return self._keywords

    def keyword_index(self, flags: frozenset[str]) -> dict[str, int]:
        """Positions of the keywords in ``flags`` in dovecot-keywords, adding missing ones."""
        wanted = {f for f in flags if not f.startswith("\\")}
        with self.lock:
            known = self.keywords()
            if wanted - set(known):
                with self.locked():
                    known = list(keywords.load(self.keywords_path))
                    known += sorted(wanted - set(known))
                    keywords.save(self.keywords_path, known, self.owner)
                    self._keywords, self._keywords_stamp = known, stamp(self.keywords_path)
            return {name: i for i, name in enumerate(known) if name in wanted}

    # --- the index view -------------------------------------------------------------------

    def rows(self) -> dict[int, Row]:
        """Every indexed message by UID, cached until this or another process writes."""
        with self.lock:
            version = self.index.data_version()
            if self._rows is None or version != self._rows_version:
                self._rows = {row.uid: row for row in self.index.rows()}
                self._rows_version = version
                self.touched = self.index.meta_int("highestmodseq", 1)
            return self._rows

    def cached_row(self, uid: int) -> Row | None:
        """The row as this process last knew it (None if unknown): no index round trip."""
        rows = self._rows
        return rows.get(uid) if rows is not None else None

    def infos(self) -> tuple[MessageInfo, ...]:
        """``messages()``: built once per index version, shared by every session."""
        with self.lock:
            rows = self.rows()
            if self._infos is None or self._infos_of is not rows:
                self._infos = tuple(_info(r) for r in rows.values())
                self._infos_of = rows
            return self._infos

    def status(self) -> FolderStatus:
        """Counts and UID/MODSEQ figures, counted once per index version (an IMAP session
        asks after every command; counting 100,000 rows each time would cost more than
        the command)."""
        with self.lock:
            version = self.index.data_version()
            if self._status is not None and self._status[0] == version:
                return self._status[1]
            meta = self.index.meta()
            first_recent = int(meta.get("first_recent_uid", "1"))
            rows = self._rows
            if rows is not None and self._rows_version == version:
                # The rows are in memory: a pass over them costs a tenth of sqlite's
                # count, which every session pays after each change to the folder. (No
                # object per row: 10,000 tuples here set off full garbage collections.)
                values = rows.values()
                total = len(rows)
                unseen = total - sum([SEEN in r.flags for r in values])
                recent = sum([r.uid >= first_recent or r.subdir == "new" for r in values])
            else:
                total, unseen, recent = self.index.counts(first_recent)
            status = FolderStatus(
                uidvalidity=int(meta["uidvalidity"]),
                uidnext=int(meta.get("uidnext", "1")),
                highestmodseq=int(meta.get("highestmodseq", "1")),
                messages=total,
                unseen=unseen,
                recent=recent,
            )
            self._status = (version, status)
            return status

    def marks(self) -> tuple[int, int, int]:
        """(UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ): what tells a holder that the folder
        changed (every append raises UIDNEXT, every flag change and expunge the MODSEQ),
        read without counting the messages as ``status()`` does: opening a folder to deliver
        into it must not cost a pass over a large folder's index. Only the index's own lock
        is taken: a delivery opening the folder must not wait for a group commit in flight
        (which holds ``lock`` through its fsyncs) before it can write its own file."""
        with self.index.lock:
            version = self.index.data_version()
            if self._status is not None and self._status[0] == version:
                figures = self._status[1]
                return (figures.uidvalidity, figures.uidnext, figures.highestmodseq)
            meta = self.index.meta()
            return (
                int(meta["uidvalidity"]),
                int(meta.get("uidnext", "1")),
                int(meta.get("highestmodseq", "1")),
            )

    def apply(
        self,
        changed: Sequence[Row] = (),
        removed: Sequence[int] = (),
        *,
        same_infos: bool = False,
        recent: int | None = None,
        told: Sequence[MessageInfo] = (),
    ) -> None:
        """Bring the cached view up to date after this process's own index write, so that a
        delivery does not make the next ``messages()`` reload a large folder. Writes by other
        processes show in sqlite's data_version and drop the cache instead. ``same_infos``:
        only file names changed (new/ to cur/), not what ``messages()`` reports; with
        ``recent``, the folder's count of recent messages after that move. ``told``: the
        infos of ``changed`` (a STORE's, already built), taken into ``messages()`` as they are."""
        status, self._status = self._status, None
        if removed:
            self.cache_writes.forget(removed)
        rows = self._rows
        if rows is None or self.index.data_version() != self._rows_version:
            self.invalidate()
            return
        last = next(reversed(rows), 0)
        appended = [row for row in changed if row.uid > last]
        infos = self._infos if self._infos_of is rows else None
        if len(appended) != len(changed) or removed:
            # Flags changed in place (a STORE): the counts follow without counting again.
            in_place = not (appended or removed or same_infos)
            seen = 0
            for row in changed:
                old = rows.get(row.uid)
                if old is None and row.uid < last:
                    self.invalidate()  # would land out of UID order
                    return
                if old is None or old.subdir != row.subdir:
                    in_place = False
                else:
                    seen += (SEEN in row.flags) - (SEEN in old.flags)
                rows[row.uid] = row
            for uid in removed:
                rows.pop(uid, None)
            if removed:
                self.touched = self.index.meta_int("highestmodseq", 1)
            elif not same_infos:
                self.touched = max([self.touched, *(row.modseq for row in changed)])
            if not same_infos:
                patched = None if infos is None else _patched(infos, changed, removed)
                if patched is None and infos is not None and told and not removed:
                    # Too many to patch one by one (STORE 1:*): one pass over the old infos
                    # taking the new ones, instead of building every info again.
                    fresh = {info.uid: info for info in told}
                    patched = tuple([fresh.get(info.uid, info) for info in infos])
                self._infos = patched
            if in_place and status is not None and changed:
                modseq = max(status[1].highestmodseq, *(row.modseq for row in changed))
                figures = replace(status[1], unseen=status[1].unseen - seen, highestmodseq=modseq)
                self._status = (status[0], figures)
            elif same_infos and recent is not None and status is not None and not removed:
                self._status = (status[0], replace(status[1], recent=recent))
            return
        appended.sort()
        for row in appended:
            rows[row.uid] = row
        if infos is not None:
            self._infos = infos + tuple(_info(r) for r in appended)
        if status is not None and appended:
            # Appended messages are recent (their UIDs are above the last claim) and raise
            # UIDNEXT and HIGHESTMODSEQ: the figures follow without counting again.
            figures = status[1]
            self._status = (
                status[0],
                replace(
                    figures,
                    messages=figures.messages + len(appended),
                    unseen=figures.unseen + sum([SEEN not in r.flags for r in appended]),
                    recent=figures.recent + len(appended),
                    uidnext=max(figures.uidnext, appended[-1].uid + 1),
                    highestmodseq=max(figures.highestmodseq, *(r.modseq for r in appended)),
                ),
            )

    def adopt_rows(self, rows: list[Row]) -> None:
        """``rows``, ascending UID, are every row the index now holds (written under
        ``lock`` by this process, which sqlite's data_version does not count)."""
        self._rows = {row.uid: row for row in rows}
        self._rows_version = self.index.data_version()
        self.touched = self.index.meta_int("highestmodseq", 1)

    def invalidate(self) -> None:
        self._status = None
        self._rows = None
        self._infos = None

    def file_path(self, row: Row) -> Path:
        return self.path / row.subdir / row.filename

    def file_name(self, row: Row) -> str:
        """``file_path`` as a string, without pathlib's cost on a per-message hot path."""
        return f"{self.dir_name}/{row.subdir}/{row.filename}"

    def renamed(self, old: Row, new: Row) -> None:
        """This process renamed ``old``'s file to ``new``'s (under ``lock``)."""
        if self.listing is not None:
            self.listing.renamed((old.subdir, old.filename), (new.subdir, new.filename))

    def reinfo(self, subdir: str, old_name: str, new_name: str, base: str, info: str) -> None:
        """This process renamed a message file within ``subdir`` for new info letters."""
        if self.listing is not None:
            self.listing.reinfo(subdir, old_name, new_name, base, info)

    def unlinked(self, row: Row) -> None:
        """This process removed ``row``'s file (under ``lock``)."""
        if self.listing is not None:
            self.listing.discard(row.subdir, row.filename)

    # --- appends ----------------------------------------------------------------------------

    def _commit_appends(self, finish: list[Pending], start: list[Pending]) -> list[int]:
        """One round of the group commit: ``finish`` holds files already durable (synced by
        the round before, or fsynced by their writers), ``start`` files just written in
        tmp/. The finishing files are moved into new/ or cur/ and given UIDs, and one sync
        makes those names durable together with the starting files' data, which the next
        round then names. A file is never named before a sync has covered its data, so a
        crash never shows half a message; and one sync per round serves two batches.

        A round with only one of the two to do (one connection delivering: its message is
        started by one round and finished by the next) syncs just what it needs, the one
        new file, or the directories and the uidlist: on a journaled ext4 an fsync costs
        about three quarters of a syncfs, which also writes back everything else."""
        with self.lock:
            for p in finish:
                if p.tmp is not None:
                    name = filename.Name(p.base, p.info).filename
                    os.rename(p.tmp, f"{self.dir_name}/{p.subdir}/{name}")
            if not finish:
                if len(start) == 1:
                    assert start[0].tmp is not None
                    sync_file_data(start[0].tmp)
                else:
                    sync_filesystem(self.path)
                return []
            with self.locked():
                return self._record_appends(finish, along=bool(start))

    def _record_appends(self, batch: list[Pending], *, along: bool = False) -> list[int]:
        """Give ``batch`` (moved into place) its UIDs and make them durable; ``along``: the
        sync must cover the data of other files written meanwhile too."""
        current = self._uidlist_locked()
        fresh: list[int] = []
        uids: list[int] = []
        for pending in batch:
            uid = current.by_base.get(pending.base)
            if uid is None:
                uid = current.add(pending.base)
                fresh.append(uid)
            uids.append(uid)
        if fresh:
            uidlist.append(self.uidlist_path, current, fresh, self.owner, durable=False)
        if along and CAN_SYNC_FILESYSTEM:
            # The renames and the uidlist records in one sync, before any caller is
            # told its UID, with the data of the files of the next round (see
            # ``_commit_appends``).
            sync_filesystem(self.path)
        else:
            # The uidlist records, then the renames into new/ or cur/; no caller is told
            # its UID before both are durable. A record whose file did not survive a crash
            # is dropped by the next sync, a file without its record is given a new UID.
            # (On ext4 the fdatasync of the uidlist commits the journal with the renames in
            # it, and those of the directories cost little.)
            if fresh:
                sync_file_data(self.uidlist_path)
            for subdir in sorted({p.subdir for p in batch}):
                fsync_dir(self.path / subdir)
        if fresh:
            self._uidlist_written()
        with self.index.transaction():
            modseq = self.index.next_modseq()
            new_rows = [
                Row(uid, p.base, p.subdir, p.info, p.flags, p.size, p.vsize, p.date, modseq)
                for uid, p in zip(uids, batch, strict=True)
            ]
            self.index.insert(new_rows)
            self.index.raise_meta("uidnext", current.next_uid)
        if self.listing is not None:
            for row in new_rows:
                self.listing.add(row.subdir, row.filename)
            self.changed({row.subdir for row in new_rows})
        self.apply(new_rows)
        return uids

    # --- sync -------------------------------------------------------------------------------

    def _stamps(self) -> str:
        return (
            "|".join(stamp(self.path / d) for d in ("new", "cur")) + "|" + stamp(self.uidlist_path)
        )

    def sync(self, *, force: bool = False) -> bool:
        """Bring the index up to date with the files; True if the index changed.

        A subdirectory is listed again only when its stamp differs from the last scan's or
        that scan could not trust it (mtime too recent, see ``scan.untrusted``): after a
        delivery into new/, a cur/ of 100,000 names is not read. With ``force``, for a new
        UIDVALIDITY, or when this process does not yet know what the index holds, everything
        is listed. Only names that differ from the known listing are looked at."""
        with self.lock:
            meta = self.index.meta()
            fresh = "uidvalidity" not in meta or not self.uidlist_path.exists()
            full = force or fresh or self.listing is None or self._relist
            recorded = meta.get("stamps")
            dirty = scan.dirty_subdirs(meta.get("dirty"))
            if not full:
                stamps = self._stamps()
                if not scan.to_list(
                    recorded, dirty, stamps, self._uidlist_stamp, self._deferred(stamps)
                ):
                    return False
            try:
                with self.locked():
                    names, stable, seen = self._list(None if full else (recorded, dirty))
                    known = self.listing
                    if fresh or not stable:
                        return scan.scan(self, names, stable, seen)
                    if known is None:
                        known = self.listing = scan.listing_of_index(self)
                    current = self._uidlist_locked()
                    if meta.get("uidvalidity") != str(current.uidvalidity):
                        return scan.scan(self, names, stable, seen)
                    return scan.rescan(self, known, names, seen)
            except FileNotFoundError as error:
                raise TemporaryStorageError(f"folder vanished during sync: {error}") from error

    def changed(self, subdirs: Iterable[str]) -> None:
        """This process has just changed ``subdirs`` (under ``lock``), and its listing holds
        the change: a sync before ``scan.DEFER_SECS`` have passed need not list cur/ again
        while its stamp stays the one this change left. new/ is always listed when its
        stamp moves, as Dovecot does: it is small, and a message saved by another process
        must show at once to a client that fetches it over another connection."""
        if self.listing is None:
            return
        due = time.time() + scan.DEFER_SECS
        for subdir in set(subdirs) & DEFERRABLE:
            earlier = self._own.get(subdir)
            self._own[subdir] = (stamp(self.path / subdir), earlier[1] if earlier else due)

    def _deferred(self, stamps: str) -> frozenset[str]:
        if not self._own:
            return frozenset()
        now = stamps.split("|")
        at = time.time()
        return frozenset(
            d
            for i, d in enumerate(SUBDIRS)
            if d in self._own and self._own[d][0] == now[i] and at < self._own[d][1]
        )

    def _list(
        self, trust: tuple[str | None, set[str]] | None
    ) -> tuple[dict[str, set[str]], bool, scan.Seen]:
        """List new/ and cur/, or with ``trust`` (the recorded stamps and dirty mark) only
        those that changed since, taking the others from the known listing. Stable when the
        listed directories' stamps did not move while they were read."""
        names: dict[str, set[str]] = {}
        seen = scan.Seen("", 0.0)
        for _ in range(SCAN_ATTEMPTS):
            at = time.time()
            before = self._stamps()
            listed = (
                SUBDIRS
                if trust is None
                else scan.to_list(*trust, before, self._uidlist_stamp, self._deferred(before))
            )
            for subdir in listed:
                self._own.pop(subdir, None)
            if trust is None:
                self._relist = False
            seen = scan.Seen(before, at, listed)
            if trust is not None and len(listed) < len(SUBDIRS):
                recorded, dirty = trust
                last = (recorded or "").split("|")
                parts = before.split("|")
                kept = [parts[i] if d in listed else last[i] for i, d in enumerate(SUBDIRS)]
                seen = scan.Seen(
                    "|".join([*kept, parts[2]]),
                    at,
                    listed,
                    frozenset(d for d in dirty if d not in listed),
                )
            names = {}
            for subdir in SUBDIRS:
                if subdir in listed:
                    names[subdir] = set(os.listdir(self.path / subdir))
                else:
                    assert self.listing is not None
                    names[subdir] = self.listing.names[subdir]
            after, was = self._stamps().split("|"), before.split("|")
            if all(after[i] == was[i] for i, d in enumerate(SUBDIRS) if d in listed):
                return names, True, seen
        return names, False, seen


def _info(row: Row) -> MessageInfo:
    return MessageInfo(row.uid, row.flags, row.vsize, row.date, row.modseq)


# Above this many changes at once, ``messages()`` is built again rather than patched.
PATCH_LIMIT = 1000


def _patched(
    infos: tuple[MessageInfo, ...], changed: Sequence[Row], removed: Sequence[int]
) -> tuple[MessageInfo, ...] | None:
    """``infos`` with a few rows changed or removed (a flag change need not rebuild the
    view of a 100,000-message folder); None when so many changed that a rebuild is cheaper."""
    if len(changed) + len(removed) > PATCH_LIMIT:
        return None
    patched = list(infos)
    for uid in sorted(removed, reverse=True):
        at = bisect.bisect_left(patched, uid, key=_uid_of)
        if at < len(patched) and patched[at].uid == uid:
            del patched[at]
    for row in sorted(changed):
        at = bisect.bisect_left(patched, row.uid, key=_uid_of)
        if at < len(patched) and patched[at].uid == row.uid:
            patched[at] = _info(row)
        else:
            patched.insert(at, _info(row))
    return tuple(patched)


def _uid_of(info: MessageInfo) -> int:
    return info.uid


_states: weakref.WeakValueDictionary[Path, FolderState] = weakref.WeakValueDictionary()
_states_lock = threading.Lock()


def state_for(path: Path, owner: tuple[int, int] | None) -> FolderState:
    """The one live state of the folder at ``path`` in this process."""
    key = path.resolve()
    with _states_lock:
        state = _states.get(key)
        if state is None:
            state = FolderState(key, owner)
            _states[key] = state
        return state


def forget(path: Path) -> None:
    """Drop the state of a folder that was deleted or renamed away."""
    key = path.resolve()
    with _states_lock:
        state = _states.pop(key, None)
    if state is not None:
        with state.lock:
            state.gone = True
            state.index.close()
