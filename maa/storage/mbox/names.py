"""Folder names and where their mbox files live, as Dovecot's ``mbox:~/mail:INBOX=~/mail/inbox``.

INBOX is the file ``<root>/inbox``; ``Archive.2024`` is ``<root>/Archive/2024`` (hierarchy
levels are directories, as Dovecot's mbox layout has them), each level in modified UTF-7. A
folder that has both messages and children (which plain mbox cannot express: ``Archive`` would
have to be a file and a directory) keeps its messages in ``<root>/Archive/.mbox``.

With ``INBOX=`` in the location (``mbox:~/mail:INBOX=/var/mail/%u``) INBOX is that file, such
as the system spool Postfix's local(8) delivers to, and the rest stays under the root; INBOX's
children, if any, are still ``<root>/INBOX/...``.

No name escapes the root: a level cannot be empty, ``..``, or hold ``/`` or NUL, and since
``.`` separates levels no on-disk name made from a level contains a dot. Names with a dot
(dotlocks, temporary files, the index) are therefore never taken for folders.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import twisted.mail.imap4  # noqa: F401  (registers the "imap4-utf-7" codec)

from maa.storage.interface import HIERARCHY_SEPARATOR, INBOX, FolderInfo, InvalidFolderName
from maa.storage.names import canonical

INBOX_FILE = "inbox"
# Where a folder that also has children keeps its messages, inside its directory.
SELF_FILE = ".mbox"
# A level longer than this cannot be a file name on any common filesystem (255 bytes).
MAX_LEVEL_BYTES = 255


def normalize(name: str) -> str:
    """``name`` checked (the rules every driver shares, and a level must fit a file name),
    with a first level of any-case ``inbox`` written ``INBOX``."""
    name = canonical(name)
    for level in name.split(HIERARCHY_SEPARATOR):
        if len(encode_level(level)) > MAX_LEVEL_BYTES:
            raise InvalidFolderName(f"folder name level too long: {level[:40]!r}...")
    return name


def encode_level(level: str) -> str:
    return level.encode("imap4-utf-7").decode("ascii")


def decode_level(disk: str) -> str | None:
    try:
        return disk.encode("ascii").decode("imap4-utf-7")
    except (UnicodeError, ValueError):
        return None


def is_real_dir(path: Path) -> bool:
    """A directory, not a symbolic link to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return False


def is_regular_file(path: Path) -> bool:
    """A regular file, not a symbolic link to one."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return False


def parent_names(name: str) -> list[str]:
    """``a.b.c`` → ``["a", "a.b"]``."""
    levels = name.split(HIERARCHY_SEPARATOR)
    return [HIERARCHY_SEPARATOR.join(levels[:n]) for n in range(1, len(levels))]


@dataclass(frozen=True)
class Layout:
    root: Path
    # INBOX's own file when the location names one (``INBOX=``), else ``<root>/inbox``.
    inbox: Path | None = None

    def entry(self, name: str) -> Path:
        """The file or directory named after folder ``name`` (normalized)."""
        if name == INBOX:
            return self.inbox if self.inbox is not None else self.root / INBOX_FILE
        return self.root.joinpath(*(encode_level(level) for level in name.split(".")))

    def mbox_file(self, name: str) -> Path:
        """Where folder ``name`` keeps its messages (it may not exist)."""
        entry = self.entry(name)
        if name != INBOX and is_real_dir(entry):
            return entry / SELF_FILE
        return entry

    def children_dir(self, name: str) -> Path:
        if name == INBOX:
            return self.root / encode_level(INBOX)
        return self.entry(name)

    def is_selectable(self, name: str) -> bool:
        """Whether the folder's mbox file exists, reached through real directories only: a
        symbolic link someone placed in the mail tree never leads maa out of it."""
        path = self.mbox_file(name)
        if name == INBOX and self.inbox is not None:
            return is_regular_file(path)  # the admin's path: only the file itself is checked
        parent = path.parent
        while parent != self.root:
            if not is_real_dir(parent):
                return False
            parent = parent.parent
        return is_regular_file(path)

    def has_children(self, name: str) -> bool:
        directory = self.children_dir(name)
        try:
            entries = os.listdir(directory)
        except (FileNotFoundError, NotADirectoryError):
            return False
        return any(decode_level(entry) is not None for entry in entries if "." not in entry)

    def folders(self) -> list[tuple[str, bool]]:
        """Every folder under the root as (name, selectable), INBOX first."""
        found: list[tuple[str, bool]] = [(INBOX, True)]
        self._walk(self.root, "", found)
        return found

    def _walk(self, directory: Path, prefix: str, found: list[tuple[str, bool]]) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            if "." in entry.name or entry.name.startswith("."):
                continue
            level = decode_level(entry.name)
            if level is None or encode_level(level) != entry.name:
                continue
            is_dir = entry.is_dir(follow_symlinks=False)
            if not prefix and level.upper() == INBOX:
                if is_dir:
                    self._walk(Path(entry.path), INBOX + HIERARCHY_SEPARATOR, found)
                continue
            name = prefix + level
            if is_dir:
                found.append((name, is_regular_file(Path(entry.path) / SELF_FILE)))
                self._walk(Path(entry.path), name + HIERARCHY_SEPARATOR, found)
            elif entry.is_file(follow_symlinks=False):
                found.append((name, True))


def folder_info(name: str, selectable: bool, special: dict[str, str]) -> FolderInfo:
    # Every level is a directory on disk (a child's file needs it), so every name exists:
    # one without its own mbox file is a real \Noselect folder, never \NonExistent.
    return FolderInfo(name=name, special_use=special.get(name), selectable=selectable, exists=True)
