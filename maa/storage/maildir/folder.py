"""``MaildirFolder``: the storage contract's ``Folder`` over a Maildir directory."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import BinaryIO

from maa.storage.flags import apply_flags, check_flags
from maa.storage.interface import (
    DELETED,
    FlagMode,
    Folder,
    FolderNotFound,
    FolderStatus,
    MessageInfo,
    MessageNotFound,
)
from maa.storage.lineends import open_crlf_file, read_range
from maa.storage.maildir import filename, uidlist
from maa.storage.maildir.durable import CAN_SYNC_FILESYSTEM, fsync_dir
from maa.storage.maildir.fieldcache import ReadAhead
from maa.storage.maildir.index import Row
from maa.storage.maildir.save import write_tmp
from maa.storage.maildir.state import FolderState, Pending
from maa.storage.watch import WATCHERS


def _info(row: Row) -> MessageInfo:
    return MessageInfo(row.uid, row.flags, row.vsize, row.date, row.modseq)


class MaildirFolder:
    def __init__(self, state: FolderState, name: str) -> None:
        self._shared = state
        self._name = name
        self._seen = self._snapshot()
        # Once the holder calls refresh(), it decides when changes made by other processes
        # are picked up (an IMAP session: once per command): status(), messages(),
        # claim_recent() and expunge() then answer from the last refresh plus this
        # process's own changes, without listing the directories again.
        self._refreshed = False
        self._read_ahead = ReadAhead()

    @property
    def _state(self) -> FolderState:
        """The shared state, unless the folder was deleted or renamed away meanwhile."""
        if self._shared.gone:
            raise FolderNotFound(self._name)
        return self._shared

    @property
    def name(self) -> str:
        return self._name

    @property
    def path(self) -> Path:
        return self._state.path

    def _notify(self) -> None:
        WATCHERS.notify(("maildir", self._state.path))

    def _snapshot(self) -> tuple[int, ...]:
        return self._state.marks()

    # --- reading --------------------------------------------------------------------------

    def status(self) -> FolderStatus:
        state = self._state
        with state.lock:
            self._sync()
            return state.status()

    def messages(self) -> Sequence[MessageInfo]:
        with self._state.lock:
            self._sync()
            return self._state.infos()

    def _row(self, uid: int) -> Row:
        row = self._state.rows().get(uid)
        if row is None:
            raise MessageNotFound(uid)
        return row

    def message(self, uid: int) -> MessageInfo:
        return _info(self._row(uid))

    def open(self, uid: int) -> BinaryIO:
        state = self._state
        # The cached row first, without asking the index whether another process wrote: a
        # name made stale by a rename or expunge elsewhere fails to open, and only then is
        # the index brought up to date. (A RETR or BODY[] storm opens many files in a row.)
        row = state.cached_row(uid)
        for attempt in range(2):
            if row is None:
                row = self._row(uid)
            try:
                return open_crlf_file(state.file_name(row), row.size)
            except FileNotFoundError:
                if attempt == 0:
                    state.sync(force=True)  # renamed by another process: find its new name
                    row = None
        raise MessageNotFound(uid)

    def read(self, uid: int, offset: int = 0, length: int | None = None) -> bytes:
        with self.open(uid) as stream:
            return read_range(stream, offset, length)

    # --- appending ------------------------------------------------------------------------

    def append(
        self,
        source: bytes | BinaryIO,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
    ) -> int:
        state = self._state
        tmp, pending = self._write(state, source, flags, internal_date, staged=CAN_SYNC_FILESYSTEM)
        try:
            uid = state.appends.submit(pending)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        self._notify()
        return uid

    def begin_append(
        self,
        source: bytes,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
    ) -> Future[int] | None:
        if not CAN_SYNC_FILESYSTEM:
            return None  # each writer would fsync its own file before queueing it
        state = self._state
        tmp, pending = self._write(state, source, flags, internal_date, staged=True)
        future = state.appends.submit_async(pending)

        def finished(future: Future[int]) -> None:
            if future.exception() is not None:
                with contextlib.suppress(OSError):
                    tmp.unlink()
            else:
                self._notify()

        future.add_done_callback(finished)
        return future

    def _write(
        self,
        state: FolderState,
        source: bytes | BinaryIO,
        flags: Iterable[str],
        internal_date: float | None,
        *,
        staged: bool,
    ) -> tuple[Path, Pending]:
        """Write the message file; ``staged``: leave it in tmp/, unsynced, for the group
        commit to sync with its whole batch and move into place (with syncfs), else fsync
        it and move it into place here."""
        flag_set = check_flags(flags)
        base = filename.unique_base()
        tmp = state.path / "tmp" / base
        size, vsize = write_tmp(tmp, source, state.owner, fsync=not staged)
        try:
            if internal_date is not None:
                os.utime(tmp, (internal_date, internal_date))
                date = float(int(internal_date))
            else:
                date = float(int(os.stat(tmp).st_mtime))
            full = filename.with_sizes(base, size, vsize)
            info = None
            if flag_set:
                info = filename.info_for(flag_set, state.keyword_index(flag_set))
            subdir = "new" if info is None else "cur"
            if not staged:
                os.rename(tmp, state.path / subdir / filename.Name(full, info).filename)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        pending = Pending(full, subdir, info, flag_set, size, vsize, date, tmp if staged else None)
        return tmp, pending

    # --- flags ------------------------------------------------------------------------------

    def store_flags(
        self,
        uids: Iterable[int],
        flags: Iterable[str],
        mode: FlagMode,
        unchanged_since: int | None = None,
    ) -> tuple[list[MessageInfo], list[int]]:
        flag_set = check_flags(flags)
        state = self._state
        changed: list[Row] = []
        refused: list[int] = []
        told: list[MessageInfo] = []
        with state.lock:
            rows = state.rows()
            wanted = [rows[uid] for uid in sorted(set(uids)) if uid in rows]
            rename = _FlagRenamer(state, flag_set)
            for row in wanted:
                if unchanged_since is not None and row.modseq > unchanged_since:
                    refused.append(row.uid)
                    continue
                new_flags = apply_flags(row.flags, flag_set, mode)
                if new_flags == row.flags:
                    continue
                updated = rename(row, new_flags)
                if updated is not None:
                    changed.append(updated)
            if changed:
                state.changed({r.subdir for r in changed})
                fsync_dir(state.path / "cur")
                with state.index.transaction():
                    modseq = state.index.next_modseq()
                    changed = [
                        Row(
                            r.uid,
                            r.base,
                            r.subdir,
                            r.info,
                            r.flags,
                            r.size,
                            r.vsize,
                            r.date,
                            modseq,
                        )
                        for r in changed
                    ]
                    state.index.update_files(changed)
                told = [_info(row) for row in changed]
                state.apply(changed, told=told)
        if changed:
            self._notify()
        return told, refused

    # --- removing ---------------------------------------------------------------------------

    def expunge(self, uids: Iterable[int] | None = None) -> list[int]:
        state = self._state
        with state.lock:
            self._sync()
            rows = state.rows()
            candidates = rows.keys() if uids is None else set(uids)
            doomed = [rows[u] for u in sorted(candidates) if u in rows and DELETED in rows[u].flags]
            removed = self._remove(doomed)
        if removed:
            self._notify()
        return removed

    def _remove(self, rows: list[Row]) -> list[int]:
        state = self._state
        if not rows:
            return []
        retry: list[int] = []
        for row in rows:
            try:
                os.unlink(state.file_path(row))
                state.unlinked(row)
            except FileNotFoundError:
                retry.append(row.uid)
        if retry:
            state.sync(force=True)  # renamed meanwhile by another process
            for uid in retry:
                fresh = state.rows().get(uid)
                if fresh is not None:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(state.file_path(fresh))
                        state.unlinked(fresh)
        subdirs = {row.subdir for row in rows} | ({"cur"} if retry else set())
        state.changed(subdirs)
        for subdir in sorted(subdirs):
            fsync_dir(state.path / subdir)
        uids = [row.uid for row in rows]
        with state.locked():
            current = state._uidlist_locked()
            current.remove(set(uids))
            uidlist.rewrite(state.uidlist_path, current, state.owner)
            state._uidlist_written()
            with state.index.transaction():
                state.index.delete(uids, state.index.next_modseq())
        state.apply(removed=uids)
        return uids

    def copy(self, uids: Iterable[int], dest: Folder) -> list[tuple[int, int]]:
        if not isinstance(dest, MaildirFolder):
            return self._copy_by_stream(uids, dest)
        rows = self._state.rows()
        sources = [rows[uid] for uid in sorted(set(uids)) if uid in rows]
        target = dest._state
        linked: list[tuple[int, Pending]] = []
        streamed: list[Row] = []
        for row in sources:
            pending = self._link(row, target)
            if pending is None:
                streamed.append(row)
            else:
                linked.append((row.uid, pending))
        pairs: list[tuple[int, int]] = []
        if linked:
            new_uids = target._commit_appends([p for _, p in linked], [])
            pairs += [(uid, new) for (uid, _), new in zip(linked, new_uids, strict=True)]
            dest._notify()
        for row in streamed:
            with contextlib.suppress(MessageNotFound), self.open(row.uid) as stream:
                pairs.append((row.uid, dest.append(stream, row.flags, row.date)))
        return sorted(pairs)

    def _link(self, row: Row, target: FolderState) -> Pending | None:
        """Hard-link the message file into ``target`` (no copy, no fsync of the data: the
        inode is already durable, and it keeps its mtime, the internal date)."""
        base = filename.with_sizes(filename.unique_base(), row.size, row.vsize)
        info = None
        if row.flags:
            info = filename.info_for(row.flags, target.keyword_index(row.flags), row.info or "")
        subdir = "new" if info is None else "cur"
        try:
            os.link(
                self._state.file_path(row),
                target.path / subdir / filename.Name(base, info).filename,
            )
        except OSError as error:
            if error.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOENT):
                return None
            raise
        return Pending(base, subdir, info, row.flags, row.size, row.vsize, row.date)

    def _copy_by_stream(self, uids: Iterable[int], dest: Folder) -> list[tuple[int, int]]:
        pairs = []
        rows = self._state.rows()
        for uid in sorted(set(uids)):
            row = rows.get(uid)
            if row is None:
                continue
            with contextlib.suppress(MessageNotFound), self.open(uid) as stream:
                pairs.append((uid, dest.append(stream, row.flags, row.date)))
        return pairs

    def move(self, uids: Iterable[int], dest: Folder) -> list[tuple[int, int]]:
        pairs = self.copy(uids, dest)
        state = self._state
        with state.lock:
            rows = state.rows()
            removed = self._remove([rows[uid] for uid, _ in pairs if uid in rows])
        if removed:
            self._notify()
        return pairs

    # --- session support --------------------------------------------------------------------

    def claim_recent(self) -> frozenset[int]:
        """Dovecot's rule: what is in new/ (or above the last claim) is recent to the first
        session that looks; that session moves new/ files to cur/."""
        state = self._state
        with state.lock:
            self._sync()
            recent = state.status().recent
            if recent == 0:
                return frozenset()  # the figures count what is in new/ or above the claim
            claimed: set[int] = set()
            moved: list[Row] = []
            left_in_new = 0
            with state.index.transaction():
                first = state.index.meta_int("first_recent_uid", 1)
                # From the rows in memory: a first session finds every message recent,
                # and reading them all back from sqlite cost more than the rest of SELECT.
                for row in _recent_rows(state.rows(), first, recent):
                    if row.subdir == "new":
                        target = row._replace(subdir="cur", info=row.info or "")
                        try:
                            os.rename(state.file_path(row), state.file_path(target))
                        except FileNotFoundError:
                            left_in_new += 1  # another process claimed it first
                            continue
                        state.renamed(row, target)
                        moved.append(target)
                    claimed.add(row.uid)
                if moved:
                    state.changed(("new", "cur"))
                state.index.update_files(moved)
                uidnext = state.index.meta_int("uidnext", 1)
                state.index.set_meta(first_recent_uid=max(first, uidnext))
            # Recent now: only what is still in new/ as far as the index knows.
            state.apply(moved, same_infos=True, recent=left_in_new)
            return frozenset(claimed)

    def vanished_since(self, modseq: int) -> list[int]:
        return self._state.index.vanished_since(modseq)

    def touched_since(self, modseq: int) -> bool:
        return self._state.touched > modseq

    def _sync(self) -> None:
        if not self._refreshed:
            self._state.sync()

    def refresh(self) -> bool:
        try:
            with self._state.lock:
                self._state.cache_writes.flush()
            self._state.sync()
        except FileNotFoundError as error:
            raise FolderNotFound(self._name) from error
        self._refreshed = True
        seen, self._seen = self._seen, self._snapshot()
        return seen != self._seen

    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        return WATCHERS.add(("maildir", self._state.path), callback)

    def get_cached(self, uid: int, field: str) -> bytes | None:
        state = self._state
        with state.lock:
            return self._read_ahead.get(state.index, state.cache_writes, uid, field)

    def set_cached(self, uid: int, field: str, value: bytes) -> None:
        state = self._state
        with state.lock:
            state.cache_writes.put(uid, field, value)


def _recent_rows(rows: dict[int, Row], first: int, recent: int) -> list[Row]:
    """The rows above the last claim or still in new/, ``recent`` of them: those above it
    taken from the end (rows are in UID order), the whole folder looked at only when some
    of the recent ones lie below it. A delivery into a 100,000-message folder with a session
    on it would otherwise look at every row."""
    above: list[Row] = []
    for row in reversed(rows.values()):
        if row.uid < first:
            break
        above.append(row)
    if len(above) == recent:
        return above[::-1]
    return [r for r in rows.values() if r.uid >= first or r.subdir == "new"]


class _FlagRenamer:
    """Renames files so their info letters say new flags, for one STORE over many messages:
    the keyword positions are read once, each (flags, old info) pair's letters are worked
    out once, and names are plain strings, so a STORE over 10,000 messages costs little more
    than its 10,000 rename calls."""

    def __init__(self, state: FolderState, added: frozenset[str]) -> None:
        self._state = state
        state.keyword_index(added)  # registers keywords new to the folder
        self._positions = {name: i for i, name in enumerate(state.keywords())}
        self._infos: dict[tuple[frozenset[str], str], str] = {}

    def _info(self, flags: frozenset[str], old: str) -> str:
        key = (flags, old)
        info = self._infos.get(key)
        if info is None:
            if any(f not in self._positions for f in flags if not f.startswith("\\")):
                self._state.keyword_index(flags)  # a keyword the file lost meanwhile
                self._positions = {name: i for i, name in enumerate(self._state.keywords())}
            info = self._infos[key] = filename.info_for(flags, self._positions, old)
        return info

    def __call__(self, row: Row, new_flags: frozenset[str]) -> Row | None:
        """The row after the rename; None if its file is gone."""
        state = self._state
        for attempt in range(2):
            info = self._info(new_flags, row.info or "")
            # Row(...) rather than _replace: a third of the loop's time went to _replace.
            updated = Row(
                row.uid,
                row.base,
                row.subdir,
                info,
                new_flags,
                row.size,
                row.vsize,
                row.date,
                row.modseq,
            )
            if info == row.info:
                return updated
            # Names worked out once here (a Row's filename is a property) and the listing
            # told base and info directly: this runs for every message of STORE 1:*.
            old_name = row.filename
            new_name = updated.filename
            directory = f"{state.dir_name}/{row.subdir}/"
            try:
                os.rename(directory + old_name, directory + new_name)
            except FileNotFoundError:
                if attempt:
                    return None
                state.sync(force=True)
                fresh = state.rows().get(row.uid)
                if fresh is None:
                    return None
                row = fresh
                continue
            state.reinfo(row.subdir, old_name, new_name, row.base, info)
            return updated
        return None
