"""Folder-name rules shared by every driver: what is a legal name, INBOX, hierarchy levels.

A name is checked here once, before any driver turns it into a path, so that no name can
reach outside the mail root whatever the driver does with it.
"""

from __future__ import annotations

from maa.storage.interface import HIERARCHY_SEPARATOR, INBOX, InvalidFolderName

# Longest folder name accepted, in characters: Dovecot's mailbox_list_name_max_length is 255
# per level; a whole path this long already breaks NAME_MAX on most filesystems.
MAX_NAME_LENGTH = 1000


def canonical(name: str) -> str:
    """Return the stored form of ``name`` (``INBOX`` upper-cased as a first level) or raise
    ``InvalidFolderName`` for anything that could escape the mail root or confuse a file."""
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidFolderName(f"bad folder name length: {name!r}")
    if "/" in name or "\\" in name:
        raise InvalidFolderName(f"folder name contains a path separator: {name!r}")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise InvalidFolderName(f"folder name contains a control character: {name!r}")
    levels = name.split(HIERARCHY_SEPARATOR)
    for level in levels:
        if not level or level.startswith(".") or level in (".", ".."):
            raise InvalidFolderName(f"folder name has an empty or dot level: {name!r}")
        if level.strip() != level:
            raise InvalidFolderName(f"folder name level has surrounding spaces: {name!r}")
    if levels[0].upper() == INBOX:
        levels[0] = INBOX
    return HIERARCHY_SEPARATOR.join(levels)


def is_inbox(name: str) -> bool:
    return name.upper() == INBOX


def parents(name: str) -> list[str]:
    """``a.b.c`` -> ``["a", "a.b"]`` (the hierarchy levels above a name)."""
    levels = name.split(HIERARCHY_SEPARATOR)
    return [HIERARCHY_SEPARATOR.join(levels[:i]) for i in range(1, len(levels))]


def is_child(name: str, parent: str) -> bool:
    return name.startswith(parent + HIERARCHY_SEPARATOR)


def renamed(name: str, old: str, new: str) -> str:
    """The name ``name`` gets when ``old`` (itself or an ancestor) is renamed to ``new``."""
    return new if name == old else new + name[len(old) :]
