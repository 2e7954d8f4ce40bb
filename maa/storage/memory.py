"""An in-memory driver honouring the whole storage contract (fast protocol tests use it).

``open_store("memory:NAME")`` returns the same ``MemoryStore`` for the same NAME within a
process. Messages are kept in their CRLF form, normalized exactly as the Maildir driver would
present them, so the shared contract suite gives the same answers for every driver.
"""

from __future__ import annotations

import io
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from maa.storage import names
from maa.storage.flags import apply_flags, check_flags
from maa.storage.interface import (
    DELETED,
    INBOX,
    SEEN,
    SPECIAL_FOLDERS,
    FlagMode,
    Folder,
    FolderExists,
    FolderInfo,
    FolderNotFound,
    FolderStatus,
    InvalidFolderName,
    MessageInfo,
    MessageNotFound,
)
from maa.storage.lineends import chunks_of, normalize
from maa.storage.watch import WATCHERS

_uidvalidity_counter = itertools.count(int(time.time()))


@dataclass
class _Message:
    info: MessageInfo
    body: bytes
    cache: dict[str, bytes] = field(default_factory=dict)


class _FolderState:
    """The data of one folder; renames move it between names without copying."""

    def __init__(self) -> None:
        self.uidvalidity = next(_uidvalidity_counter)
        self.uidnext = 1
        self.highestmodseq = 1
        self.messages: dict[int, _Message] = {}
        self.expunged: list[tuple[int, int]] = []  # (uid, modseq)
        self.recent: set[int] = set()
        self.key = object()  # watcher key: follows the data through renames


class MemoryFolder:
    def __init__(self, store: MemoryStore, state: _FolderState, name: str) -> None:
        self._store = store
        self._shared = state
        self._name = name

    @property
    def _state(self) -> _FolderState:
        """The folder's data, unless it was deleted or renamed away meanwhile."""
        if self._store.state_of(self._name) is not self._shared:
            raise FolderNotFound(self._name)
        return self._shared

    @property
    def name(self) -> str:
        return self._name

    @property
    def _lock(self) -> threading.RLock:
        return self._store.lock

    def _changed(self) -> None:
        WATCHERS.notify(self._state.key)

    def _next_modseq(self) -> int:
        self._state.highestmodseq += 1
        return self._state.highestmodseq

    def status(self) -> FolderStatus:
        with self._lock:
            state = self._state
            infos = [m.info for m in state.messages.values()]
            return FolderStatus(
                uidvalidity=state.uidvalidity,
                uidnext=state.uidnext,
                highestmodseq=state.highestmodseq,
                messages=len(infos),
                unseen=sum(1 for i in infos if SEEN not in i.flags),
                recent=len(state.recent),
            )

    def messages(self) -> Sequence[MessageInfo]:
        with self._lock:
            return [self._state.messages[uid].info for uid in sorted(self._state.messages)]

    def message(self, uid: int) -> MessageInfo:
        with self._lock:
            return self._get(uid).info

    def _get(self, uid: int) -> _Message:
        try:
            return self._state.messages[uid]
        except KeyError:
            raise MessageNotFound(uid) from None

    def append(
        self,
        source: bytes | BinaryIO,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
    ) -> int:
        body = normalize(b"".join(chunks_of(source)))
        flag_set = check_flags(flags)
        date = time.time() if internal_date is None else internal_date
        with self._lock:
            uid = self._insert(body, flag_set, date)
        self._changed()
        return uid

    def begin_append(
        self,
        source: bytes,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
    ) -> Future[int] | None:
        done: Future[int] = Future()
        done.set_result(self.append(source, flags, internal_date))  # nothing to wait for
        return done

    def _insert(self, body: bytes, flags: frozenset[str], date: float) -> int:
        state = self._state
        uid = state.uidnext
        state.uidnext += 1
        info = MessageInfo(uid, flags, len(body), float(int(date)), self._next_modseq())
        state.messages[uid] = _Message(info, body)
        state.recent.add(uid)
        return uid

    def open(self, uid: int) -> BinaryIO:
        with self._lock:
            return io.BytesIO(self._get(uid).body)

    def read(self, uid: int, offset: int = 0, length: int | None = None) -> bytes:
        with self._lock:
            body = self._get(uid).body
        end = len(body) if length is None else offset + length
        return body[offset:end]

    def store_flags(
        self,
        uids: Iterable[int],
        flags: Iterable[str],
        mode: FlagMode,
        unchanged_since: int | None = None,
    ) -> tuple[list[MessageInfo], list[int]]:
        flag_set = check_flags(flags)
        changed: list[MessageInfo] = []
        refused: list[int] = []
        with self._lock:
            for uid in sorted(set(uids)):
                message = self._state.messages.get(uid)
                if message is None:
                    continue
                if unchanged_since is not None and message.info.modseq > unchanged_since:
                    refused.append(uid)
                    continue
                new_flags = apply_flags(message.info.flags, flag_set, mode)
                if new_flags == message.info.flags:
                    continue
                message.info = replace(message.info, flags=new_flags, modseq=self._next_modseq())
                changed.append(message.info)
        if changed:
            self._changed()
        return changed, refused

    def expunge(self, uids: Iterable[int] | None = None) -> list[int]:
        with self._lock:
            candidates = self._state.messages.keys() if uids is None else set(uids)
            doomed = sorted(
                uid
                for uid in candidates
                if uid in self._state.messages and DELETED in self._state.messages[uid].info.flags
            )
            self._remove(doomed)
        if doomed:
            self._changed()
        return doomed

    def _remove(self, uids: list[int]) -> None:
        if not uids:
            return
        modseq = self._next_modseq()
        for uid in uids:
            del self._state.messages[uid]
            self._state.recent.discard(uid)
            self._state.expunged.append((uid, modseq))

    def copy(self, uids: Iterable[int], dest: Folder) -> list[tuple[int, int]]:
        with self._lock:
            sources = [
                (uid, self._state.messages[uid])
                for uid in sorted(set(uids))
                if uid in self._state.messages
            ]
        pairs: list[tuple[int, int]] = []
        if isinstance(dest, MemoryFolder) and dest._store is self._store:
            with self._lock:
                for uid, message in sources:
                    info = message.info
                    pairs.append((uid, dest._insert(message.body, info.flags, info.internal_date)))
            if pairs:
                dest._changed()
            return pairs
        for uid, message in sources:
            new_uid = dest.append(message.body, message.info.flags, message.info.internal_date)
            pairs.append((uid, new_uid))
        return pairs

    def move(self, uids: Iterable[int], dest: Folder) -> list[tuple[int, int]]:
        pairs = self.copy(uids, dest)
        with self._lock:
            self._remove([uid for uid, _ in pairs if uid in self._state.messages])
        if pairs:
            self._changed()
        return pairs

    def claim_recent(self) -> frozenset[int]:
        with self._lock:
            claimed = frozenset(self._state.recent)
            self._state.recent.clear()
            return claimed

    def vanished_since(self, modseq: int) -> list[int]:
        with self._lock:
            return sorted(uid for uid, m in self._state.expunged if m > modseq)

    def touched_since(self, modseq: int) -> bool:
        return True

    def refresh(self) -> bool:
        return False  # nothing outside this process can change it

    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        return WATCHERS.add(self._state.key, callback)

    def get_cached(self, uid: int, field: str) -> bytes | None:
        with self._lock:
            message = self._state.messages.get(uid)
            return None if message is None else message.cache.get(field)

    def set_cached(self, uid: int, field: str, value: bytes) -> None:
        with self._lock:
            message = self._state.messages.get(uid)
            if message is not None:
                message.cache[field] = bytes(value)


class MemoryStore:
    def __init__(self, name: str = "") -> None:
        self.name = name
        self.lock = threading.RLock()
        self._folders: dict[str, _FolderState] = {INBOX: _FolderState()}
        self._special: dict[str, str] = {}
        self._subscribed: list[str] = []

    def list_folders(self) -> list[FolderInfo]:
        with self.lock:
            real = set(self._folders)
            hierarchy = {p for name in real for p in names.parents(name)} - real
            return [
                FolderInfo(name, self._special.get(name), True)
                if name in real
                else FolderInfo(name, selectable=False, exists=False)
                for name in sorted(real | hierarchy)
            ]

    def folder(self, name: str) -> MemoryFolder:
        name = names.canonical(name)
        with self.lock:
            state = self._folders.get(name)
            if state is None:
                raise FolderNotFound(name)
            return MemoryFolder(self, state, name)

    def create_folder(self, name: str) -> None:
        name = names.canonical(name)
        with self.lock:
            if name in self._folders:
                raise FolderExists(name)
            for parent in [*names.parents(name), name]:
                self._folders.setdefault(parent, _FolderState())

    def delete_folder(self, name: str) -> None:
        name = names.canonical(name)
        if names.is_inbox(name):
            raise InvalidFolderName("INBOX cannot be deleted")
        with self.lock:
            if self._folders.pop(name, None) is None:
                raise FolderNotFound(name)
            self._special.pop(name, None)

    def rename_folder(self, old: str, new: str) -> None:
        old, new = names.canonical(old), names.canonical(new)
        with self.lock:
            if old not in self._folders:
                raise FolderNotFound(old)
            if names.is_inbox(new) or new in self._folders:
                raise FolderExists(new)
            if names.is_child(new, old):
                raise InvalidFolderName(f"cannot rename {old!r} under itself")
            if names.is_inbox(old):
                self._folders[new] = self._move_inbox_messages()
            else:
                for name in [n for n in self._folders if n == old or names.is_child(n, old)]:
                    target = names.renamed(name, old, new)
                    self._folders[target] = self._folders.pop(name)
                    if name in self._special:
                        self._special[target] = self._special.pop(name)
            for parent in names.parents(new):
                self._folders.setdefault(parent, _FolderState())

    def state_of(self, name: str) -> _FolderState | None:
        return self._folders.get(name)

    def _move_inbox_messages(self) -> _FolderState:
        """RFC 3501 6.3.5: INBOX's messages go to a new folder; INBOX stays, and its
        sessions see them expunged."""
        inbox = self._folders[INBOX]
        moved = _FolderState()
        for uid in sorted(inbox.messages):
            message = inbox.messages[uid]
            new_uid = moved.uidnext
            moved.uidnext += 1
            moved.messages[new_uid] = _Message(replace(message.info, uid=new_uid), message.body)
        if inbox.messages:
            inbox.highestmodseq += 1
            inbox.expunged += [(uid, inbox.highestmodseq) for uid in inbox.messages]
            inbox.messages.clear()
            inbox.recent.clear()
            WATCHERS.notify(inbox.key)
        return moved

    def subscriptions(self) -> list[str]:
        with self.lock:
            return list(self._subscribed)

    def subscribe(self, name: str) -> None:
        name = names.canonical(name)
        with self.lock:
            if name not in self._subscribed:
                self._subscribed.append(name)

    def unsubscribe(self, name: str) -> None:
        name = names.canonical(name)
        with self.lock:
            if name in self._subscribed:
                self._subscribed.remove(name)

    def ensure_defaults(self) -> None:
        with self.lock:
            for name, role in SPECIAL_FOLDERS.items():
                if name not in self._folders:
                    self._folders[name] = _FolderState()
                    self.subscribe(name)
                self._special.setdefault(name, role)
            self.subscribe(INBOX)


_registry: dict[str, MemoryStore] = {}
_registry_lock = threading.Lock()


def memory_store(name: str) -> MemoryStore:
    with _registry_lock:
        store = _registry.get(name)
        if store is None:
            store = _registry[name] = MemoryStore(name)
        return store
