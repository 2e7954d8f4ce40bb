"""``MaildirStore``: one user's Maildir++ tree (the storage contract's ``MailStore``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import uuid
from pathlib import Path

from maa.storage import names
from maa.storage.interface import (
    INBOX,
    SPECIAL_FOLDERS,
    FolderExists,
    FolderInfo,
    FolderNotFound,
    InvalidFolderName,
)
from maa.storage.maildir import layout, state
from maa.storage.maildir.durable import chown, fsync_dir, make_dir, write_atomic
from maa.storage.maildir.folder import MaildirFolder
from maa.storage.maildir.save import remove_stale_tmp
from maa.storage.watch import WATCHERS

MAILDIR_SUBDIRS = ("cur", "new", "tmp")
# Marks a Maildir++ subfolder (Courier's and Dovecot's convention; LDAs read it).
FOLDER_MARKER = "maildirfolder"
# Deleted folders are first renamed to this prefix: a name no listing shows (its first level
# is empty), so a crash in the middle of removing the files never leaves half a folder.
TRASH_PREFIX = "..maa-deleted-"


class MaildirStore:
    def __init__(
        self, root: Path, *, owner: tuple[int, int] | None = None, inbox: Path | None = None
    ) -> None:
        self.root = root
        # INBOX's own Maildir when the location gives ``INBOX=`` (Dovecot allows it); the
        # other folders, the subscriptions and the POP3 lock stay in the root.
        self.inbox = inbox if inbox is not None else root
        self.owner = owner
        self._lock = threading.RLock()
        self._defaults_done = False
        self._tmp_checked: set[str] = set()  # folders whose tmp/ was cleaned by this process

    # --- paths ----------------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        return (self.root / layout.dirname(name)).resolve() if name != INBOX else self.inbox

    def _is_maildir(self, path: Path) -> bool:
        return (path / "cur").is_dir()

    def _make_maildir(self, path: Path, *, subfolder: bool) -> bool:
        """Create a Maildir at ``path``; False if one was there already."""
        if path in (self.root, self.inbox):
            created = not path.exists()
            path.mkdir(parents=True, exist_ok=True)
            if created:
                chown(path, self.owner)
            if path != self.inbox:
                return created  # a root whose INBOX lives elsewhere holds no messages
        else:
            created = make_dir(path, self.owner)
        for sub in MAILDIR_SUBDIRS:
            created = make_dir(path / sub, self.owner) or created
        if subfolder and created:
            marker = path / FOLDER_MARKER
            marker.touch()
            chown(marker, self.owner)
        if created:
            fsync_dir(path)
            fsync_dir(path.parent)
        return created

    # --- folders --------------------------------------------------------------------------

    def list_folders(self) -> list[FolderInfo]:
        real = {INBOX}
        with contextlib.suppress(FileNotFoundError):
            for entry in os.listdir(self.root):
                name = layout.folder_name(entry)
                if name is not None and self._is_maildir(self.root / entry):
                    real.add(name)
        # Maildir++ keeps .a.b without .a: such a level is only a part of its children's names.
        hierarchy = {p for name in real for p in names.parents(name)} - real
        return [
            FolderInfo(name, SPECIAL_FOLDERS.get(name), True)
            if name in real
            else FolderInfo(name, selectable=False, exists=False)
            for name in sorted(real | hierarchy)
        ]

    def folder(self, name: str) -> MaildirFolder:
        name = names.canonical(name)
        path = self._path(name)
        if name == INBOX:
            self._make_maildir(path, subfolder=False)
        elif not self._is_maildir(path):
            raise FolderNotFound(name)
        if name not in self._tmp_checked:
            # Once per folder and process, as Dovecot's maildir_tmp_cleanup: what a crash
            # left in tmp/ goes, so tmp/ does not fill up over years of restarts.
            self._tmp_checked.add(name)
            remove_stale_tmp(path / "tmp")
        return MaildirFolder(state.state_for(path, self.owner), name)

    def create_folder(self, name: str) -> None:
        name = names.canonical(name)
        with self._lock:
            if name == INBOX or self._is_maildir(self._path(name)):
                raise FolderExists(name)
            self._make_maildir(self.root, subfolder=False)
            for parent in names.parents(name):
                self._make_maildir(self._path(parent), subfolder=True)
            if not self._make_maildir(self._path(name), subfolder=True):
                raise FolderExists(name)

    def delete_folder(self, name: str) -> None:
        name = names.canonical(name)
        if name == INBOX:
            raise InvalidFolderName("INBOX cannot be deleted")
        with self._lock:
            path = self._path(name)
            if not self._is_maildir(path):
                raise FolderNotFound(name)
            trash = self.root / f"{TRASH_PREFIX}{uuid.uuid4().hex}"
            state.forget(path)
            os.rename(path, trash)
            fsync_dir(self.root)
            shutil.rmtree(trash, ignore_errors=True)

    def rename_folder(self, old: str, new: str) -> None:
        old, new = names.canonical(old), names.canonical(new)
        with self._lock:
            if not self._is_maildir(self._path(old)):
                raise FolderNotFound(old)
            if new == INBOX or self._path(new).exists():
                raise FolderExists(new)
            if names.is_child(new, old):
                raise InvalidFolderName(f"cannot rename {old!r} under itself")
            if old == INBOX:
                self._rename_inbox(new)
                return
            moving = [old] + [
                info.name
                for info in self.list_folders()
                if info.selectable and names.is_child(info.name, old)
            ]
            for name in moving:
                source, target = self._path(name), self._path(names.renamed(name, old, new))
                state.forget(source)
                os.rename(source, target)
                WATCHERS.move(("maildir", source), ("maildir", target))
            for parent in names.parents(new):
                self._make_maildir(self._path(parent), subfolder=True)
            fsync_dir(self.root)

    def _rename_inbox(self, new: str) -> None:
        """RFC 3501: the messages move to a new folder and INBOX stays, empty."""
        self.create_folder(new)
        inbox = self.folder(INBOX)
        inbox.move([info.uid for info in inbox.messages()], self.folder(new))

    # --- subscriptions ---------------------------------------------------------------------

    def subscriptions(self) -> list[str]:
        try:
            data = layout.subscriptions_path(self.root).read_bytes()
        except FileNotFoundError:
            return []
        return layout.parse_subscriptions(data)

    def _write_subscriptions(self, subscribed: list[str]) -> None:
        self._make_maildir(self.root, subfolder=False)
        data = layout.format_subscriptions(subscribed)
        write_atomic(layout.subscriptions_path(self.root), data, self.owner)

    def subscribe(self, name: str) -> None:
        name = names.canonical(name)
        with self._lock:
            current = self.subscriptions()
            if name not in current:
                self._write_subscriptions([*current, name])

    def unsubscribe(self, name: str) -> None:
        name = names.canonical(name)
        with self._lock:
            current = self.subscriptions()
            if name in current:
                self._write_subscriptions([n for n in current if n != name])

    def ensure_defaults(self) -> None:
        if self._defaults_done:
            return
        with self._lock:
            self._make_maildir(self.root, subfolder=False)
            subscribed = self.subscriptions()
            wanted = list(subscribed)
            if not layout.subscriptions_path(self.root).exists():
                wanted.append(INBOX)
            for name in SPECIAL_FOLDERS:
                if self._make_maildir(self._path(name), subfolder=True) and name not in wanted:
                    wanted.append(name)
            if wanted != subscribed:
                self._write_subscriptions(wanted)
            self._defaults_done = True
