"""``MboxStore``: one user's tree of mbox folders (the ``MailStore`` of the storage contract)."""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from pathlib import Path

from maa.storage.interface import (
    HIERARCHY_SEPARATOR,
    INBOX,
    SPECIAL_FOLDERS,
    FolderExists,
    FolderInfo,
    FolderNotFound,
    InvalidFolderName,
    StorageError,
)
from maa.storage.mbox import writer
from maa.storage.mbox.errors import storage_errors
from maa.storage.mbox.folder import MboxFolder
from maa.storage.mbox.index import INDEX_DIR, INDEX_FILE, OLD_INDEX_FILE, Index
from maa.storage.mbox.names import (
    SELF_FILE,
    Layout,
    folder_info,
    is_real_dir,
    is_regular_file,
    normalize,
    parent_names,
)
from maa.storage.mbox.writer import fsync_dir

# How long a writer waits for another program's lock before answering "try again later".
# Dovecot waits up to 5 minutes, but maa's IMAP sessions call storage on the reactor thread;
# 10 s is far longer than any local delivery holds an mbox, and the MTA retries a 4xx.
LOCK_TIMEOUT = 10.0
# A dotlock untouched for this long was left by a crashed program (Dovecot's
# mbox_dotlock_change_timeout is 2 minutes, Postfix's stale_lock_time 500 s).
STALE_LOCK_AGE = 300.0
SUBSCRIPTIONS_FILE = ".subscriptions"
# Far more than any real list of subscriptions (a thousand long names); a bigger file is not
# read further, so a damaged or hostile one cannot take the memory.
SUBSCRIPTIONS_LIMIT = 1024 * 1024
_CONVERT_MARK = ".maa-convert"


class MboxStore:
    def __init__(
        self,
        root: Path | str,
        owner: tuple[int, int] | None = None,
        *,
        inbox: Path | str | None = None,
        lock_timeout: float = LOCK_TIMEOUT,
        stale_lock_age: float = STALE_LOCK_AGE,
    ) -> None:
        self.root = Path(root)
        self.owner = owner
        self.lock_timeout = lock_timeout
        self.stale_lock_age = stale_lock_age
        # INBOX's file when the location gives ``INBOX=`` (a spool such as /var/mail/alice).
        self.inbox = Path(inbox) if inbox is not None else None
        self.layout = Layout(self.root, self.inbox)
        self._lock = threading.RLock()
        self._folders: dict[str, MboxFolder] = {}
        if not self.root.is_dir():
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.chown(self.root)
        index_dir = self.root / INDEX_DIR
        if index_dir.is_symlink():
            raise StorageError(f"{index_dir} is a symbolic link")
        if not index_dir.is_dir():
            index_dir.mkdir(mode=0o700, exist_ok=True)
            self.chown(index_dir)
        for where, name in ((self.root, OLD_INDEX_FILE), (index_dir, INDEX_FILE)):
            for suffix in ("", "-wal", "-shm", "-journal"):
                if os.path.islink(where / (name + suffix)):
                    raise StorageError(f"{where / name}{suffix} is a symbolic link")
        self._move_old_index(index_dir)
        self.index = Index(index_dir / INDEX_FILE)
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                self.chown(index_dir / (INDEX_FILE + suffix))
        self._finish_conversions()

    def __repr__(self) -> str:
        return f"<MboxStore {self.root}>"

    def _move_old_index(self, index_dir: Path) -> None:
        """An index from before it moved into ``.imap`` keeps the UIDs: move it there, its
        write-ahead log or journal with it (the -shm file is rebuilt by SQLite)."""
        old = self.root / OLD_INDEX_FILE
        if not old.exists() or (index_dir / INDEX_FILE).exists():
            return
        for suffix in ("-wal", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.rename(self.root / (OLD_INDEX_FILE + suffix), index_dir / (INDEX_FILE + suffix))
        os.rename(old, index_dir / INDEX_FILE)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.root / (OLD_INDEX_FILE + "-shm"))

    def chown(self, path: Path) -> None:
        """Give a file maa made to the mailbox's owner (when running as root)."""
        if self.owner is not None and os.geteuid() == 0:
            os.chown(path, *self.owner, follow_symlinks=False)

    def close(self) -> None:
        with self._lock:
            for folder in self._folders.values():
                folder.close()
            self.index.close()

    # Folders

    @storage_errors
    def list_folders(self) -> list[FolderInfo]:
        with self._lock:
            self.ensure_inbox()
            return [folder_info(n, s, SPECIAL_FOLDERS) for n, s in self.layout.folders()]

    @storage_errors
    def folder(self, name: str) -> MboxFolder:
        name = normalize(name)
        with self._lock:
            if name == INBOX:
                self.ensure_inbox()
            elif not self.layout.is_selectable(name):
                raise FolderNotFound(name)
            folder = self._folders.get(name)
            if folder is None:
                folder = self._folders[name] = MboxFolder(self, name)
            return folder

    @storage_errors
    def create_folder(self, name: str) -> None:
        name = normalize(name)
        with self._lock:
            if name == INBOX or self.layout.is_selectable(name):
                raise FolderExists(name)
            for parent in parent_names(name):
                self._make_parent(parent)
            self._create_file(self.layout.mbox_file(name), exists=FolderExists(name))

    @storage_errors
    def delete_folder(self, name: str) -> None:
        name = normalize(name)
        if name == INBOX:
            raise InvalidFolderName("INBOX cannot be deleted")
        with self._lock:
            entry = self.layout.entry(name)
            if self.layout.is_selectable(name):
                folder = self.folder(name)
                with folder._lock, folder.file.locked(exclusive=True):
                    os.unlink(self.layout.mbox_file(name))
                    with self.index.transaction() as db:
                        self.index.drop_folder(db, name)
                self._forget(name, children=False)
                if is_real_dir(entry) and not self.layout.has_children(name):
                    with contextlib.suppress(OSError):
                        os.rmdir(entry)
                fsync_dir(entry.parent)
            elif is_real_dir(entry):
                # A hierarchy level without messages: nothing to delete while children remain.
                if not self.layout.has_children(name):
                    os.rmdir(entry)
            else:
                raise FolderNotFound(name)

    @storage_errors
    def rename_folder(self, old: str, new: str) -> None:
        old, new = normalize(old), normalize(new)
        with self._lock:
            if new == INBOX or os.path.lexists(self.layout.entry(new)):
                raise FolderExists(new)
            if new.startswith(old + HIERARCHY_SEPARATOR):
                raise InvalidFolderName(f"cannot move {old} into itself")
            if old == INBOX:
                self._rename_inbox(new)
                return
            source = self.layout.entry(old)
            if not os.path.lexists(source):
                raise FolderNotFound(old)
            for parent in parent_names(new):
                self._make_parent(parent)
            with contextlib.ExitStack() as locks:
                dotlock = None
                if self.layout.is_selectable(old):
                    folder = self.folder(old)
                    locks.enter_context(folder._lock)
                    _, dotlock = locks.enter_context(folder.file.locked(exclusive=True))
                target = self.layout.entry(new)
                os.rename(source, target)
                if dotlock is not None and is_real_dir(target):
                    dotlock.moved(self.layout.mbox_file(new))  # it was inside the directory
                fsync_dir(target.parent)
                fsync_dir(source.parent)
                with self.index.transaction() as db:
                    self.index.drop_folders_under(db, new)
                    self.index.rename_folders(db, old, new)
            self._forget(old, children=True)
            self._rename_subscriptions(old, new)

    def _rename_inbox(self, new: str) -> None:
        """RFC 3501 6.3.5: INBOX's messages move to ``new``; INBOX stays, empty."""
        for parent in parent_names(new):
            self._make_parent(parent)
        if self.inbox is not None:
            self._move_spool(new)
            return
        inbox = self.folder(INBOX)
        with inbox._lock, inbox.file.locked(exclusive=True) as (fd, _):
            inbox._sync_file(fd)
            target = self.layout.entry(new)
            os.rename(self.layout.entry(INBOX), target)
            with self.index.transaction() as db:
                self.index.drop_folder(db, new)
                self.index.rename_one_folder(db, INBOX, new)
            self._create_file(self.layout.entry(INBOX), exists=None)
            fsync_dir(target.parent)
        self._forget(INBOX, children=False)

    def _move_spool(self, new: str) -> None:
        """RENAME INBOX when INBOX is a spool file outside the root: its messages are copied
        to ``new`` and the spool emptied in place. The spool keeps its inode, owner and mode
        (the MTA delivers into it and maa may not create files in its directory), and the
        copy works across filesystems. A crash between the copy and the truncation leaves
        the messages in both folders, never in neither."""
        inbox = self.folder(INBOX)
        target = self.layout.entry(new)
        with inbox._lock, inbox.file.locked(exclusive=True) as (fd, _):
            inbox._sync_file(fd)
            temp = writer.temp_path(target)
            out = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                self.chown(temp)
                size = os.fstat(fd).st_size
                position = 0
                while position < size:
                    data = os.pread(fd, min(writer.COPY_CHUNK, size - position), position)
                    if not data:
                        raise OSError(f"{inbox.file.path} shrank while it was locked")
                    os.write(out, data)
                    position += len(data)
                os.fsync(out)
            except BaseException:
                os.close(out)
                os.unlink(temp)
                raise
            os.close(out)
            os.rename(temp, target)
            fsync_dir(target.parent)
            with self.index.transaction() as db:
                # The row, its UIDs and flags go with the messages; the new file's other
                # inode makes the next sync match them by content (see ``reconcile``).
                self.index.drop_folder(db, new)
                self.index.rename_one_folder(db, INBOX, new)
            os.ftruncate(fd, 0)
            os.fsync(fd)
        self._forget(INBOX, children=False)

    def _forget(self, name: str, *, children: bool) -> None:
        for known in list(self._folders):
            if known == name or (children and known.startswith(name + HIERARCHY_SEPARATOR)):
                self._folders.pop(known).forget()

    def ensure_inbox(self) -> None:
        path = self.layout.entry(INBOX)
        if not is_regular_file(path):
            if self.inbox is not None and not path.parent.is_dir():
                # A spool directory per domain or user (INBOX=/srv/spool/%d/%n): made as the
                # root is. A system spool such as /var/mail is the system's and exists.
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                self.chown(path.parent)
            self._create_file(path, exists=None)

    def _create_file(self, path: Path, *, exists: Exception | None) -> None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            if exists is not None:
                raise exists from None
            return
        os.close(fd)
        self.chown(path)
        fsync_dir(path.parent)

    def _make_parent(self, name: str) -> None:
        """Make ``name`` a directory that can hold child folders; a missing parent is made a
        folder too (as with Maildir++, where ``a.b`` implies ``a``)."""
        directory = self.layout.children_dir(name)
        if is_real_dir(directory):
            return
        if is_regular_file(directory):  # a folder file: it becomes a directory
            self._convert_to_directory(name)
            return
        directory.mkdir(mode=0o700)
        self.chown(directory)
        fsync_dir(directory.parent)
        if name != INBOX:
            self._create_file(directory / SELF_FILE, exists=None)

    def _convert_to_directory(self, name: str) -> None:
        """Folder ``name`` (a file) gets children: its messages move to ``<name>/.mbox``.
        Made in a hidden directory and renamed into place; ``_finish_conversions`` completes
        one a crash interrupted."""
        folder = self.folder(name)
        entry = self.layout.entry(name)
        staging = entry.with_name(f".{entry.name}{_CONVERT_MARK}")
        with folder._lock, folder.file.locked(exclusive=True):
            staging.mkdir(mode=0o700)
            self.chown(staging)
            os.rename(entry, staging / SELF_FILE)
            os.rename(staging, entry)
            fsync_dir(entry)
            fsync_dir(entry.parent)

    def _finish_conversions(self) -> None:
        for directory, subdirs, _ in os.walk(self.root):
            for sub in subdirs:
                if sub.startswith(".") and sub.endswith(_CONVERT_MARK):
                    target = Path(directory) / sub[1 : -len(_CONVERT_MARK)]
                    if not os.path.lexists(target):
                        os.rename(Path(directory) / sub, target)

    # Subscriptions

    def _subscription_path(self) -> Path:
        return self.root / SUBSCRIPTIONS_FILE

    @storage_errors
    def subscriptions(self) -> list[str]:
        with self._lock:
            return self._read_subscriptions()

    def _read_subscriptions(self) -> list[str]:
        try:
            fd = os.open(self._subscription_path(), os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except FileNotFoundError:
            return []
        except OSError as error:
            if error.errno != errno.ELOOP:
                raise
            return []  # a link: LSUB must not show another file's lines; the next write fixes it
        with os.fdopen(fd, "rb") as stream:
            text = stream.read(SUBSCRIPTIONS_LIMIT).decode("utf-8", "replace")
        names: list[str] = []
        for line in text.splitlines():
            if not line or line.startswith("V\t"):
                continue  # blank, or the version line of Dovecot 2.2+'s format
            with contextlib.suppress(InvalidFolderName):
                name = normalize(line.replace("\t", HIERARCHY_SEPARATOR))
                if name not in names:
                    names.append(name)
        return names

    def _write_subscriptions(self, names: list[str]) -> None:
        path = self._subscription_path()
        temp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, "".join(name + "\n" for name in names).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        self.chown(temp)
        os.rename(temp, path)
        fsync_dir(self.root)

    @storage_errors
    def subscribe(self, name: str) -> None:
        name = normalize(name)
        with self._lock:
            names = self._read_subscriptions()
            if name not in names:
                self._write_subscriptions([*names, name])

    @storage_errors
    def unsubscribe(self, name: str) -> None:
        name = normalize(name)
        with self._lock:
            names = self._read_subscriptions()
            if name in names:
                self._write_subscriptions([n for n in names if n != name])

    def _rename_subscriptions(self, old: str, new: str) -> None:
        names = self._read_subscriptions()
        renamed = [
            new + n[len(old) :] if n == old or n.startswith(old + HIERARCHY_SEPARATOR) else n
            for n in names
        ]
        if renamed != names:
            self._write_subscriptions(renamed)

    @storage_errors
    def ensure_defaults(self) -> None:
        with self._lock:
            self.ensure_inbox()
            if self._subscription_path().exists():
                return
            for name in SPECIAL_FOLDERS:
                if not self.layout.is_selectable(name):
                    self.create_folder(name)
            names = self._read_subscriptions()
            wanted = [INBOX, *SPECIAL_FOLDERS]
            self._write_subscriptions(names + [n for n in wanted if n not in names])
