"""Maildir++ layout: folder names <-> directory names, and the ``subscriptions`` file.

INBOX is the root Maildir; folder ``a.b`` is the directory ``.a.b`` beside it, each level in
modified UTF-7 as Dovecot writes it (``Entwürfe`` -> ``.Entw&APw-rfe``).
"""

from __future__ import annotations

from pathlib import Path

import twisted.mail.imap4  # noqa: F401  (registers the imap4-utf-7 codec)

from maa.storage.interface import HIERARCHY_SEPARATOR, INBOX

CODEC = "imap4-utf-7"
SUBSCRIPTIONS = "subscriptions"
# Dovecot 2.x subscriptions: this header, then one name per line with TAB between levels.
SUBSCRIPTIONS_HEADER = "V\t2\n\n"


def encode_level(level: str) -> str:
    return level.encode(CODEC).decode("ascii")


def decode_level(level: str) -> str:
    return level.encode("ascii").decode(CODEC)


def dirname(name: str) -> str:
    """The directory (relative to the root) of a checked, canonical folder name."""
    if name == INBOX:
        return "."
    return "." + HIERARCHY_SEPARATOR.join(encode_level(level) for level in name.split("."))


def folder_name(entry: str) -> str | None:
    """The folder a root directory entry is, or None if it is not a Maildir++ folder name."""
    if not entry.startswith(".") or entry in (".", ".."):
        return None
    levels = entry[1:].split(HIERARCHY_SEPARATOR)
    if any(not level for level in levels):
        return None
    try:
        name = HIERARCHY_SEPARATOR.join(decode_level(level) for level in levels)
    except (UnicodeError, ValueError):
        return None
    # Only the canonical spelling names a folder, so two directories never alias one name.
    return name if dirname(name) == entry else None


def parse_subscriptions(data: bytes) -> list[str]:
    text = data.decode("utf-8", "replace")
    lines = text.split("\n")
    if text.startswith("V\t"):
        # Version 2: header up to the first empty line, then TAB-separated levels.
        body = lines[lines.index("") + 1 :] if "" in lines else []
        names = [_decode_name(line.split("\t")) for line in body if line]
    else:
        # Version 1 (and hand-written files): one name per line, '.' between levels.
        names = [_decode_name(line.strip().split(HIERARCHY_SEPARATOR)) for line in lines]
    result: list[str] = []
    for name in names:
        if name and name not in result:
            result.append(name)
    return result


def _decode_name(levels: list[str]) -> str:
    try:
        decoded = [decode_level(level) for level in levels]
    except (UnicodeError, ValueError):
        decoded = levels
    name = HIERARCHY_SEPARATOR.join(decoded)
    return INBOX if name.upper() == INBOX else name


def format_subscriptions(names: list[str]) -> bytes:
    lines = ["\t".join(encode_level(level) for level in name.split(".")) for name in names]
    return (SUBSCRIPTIONS_HEADER + "".join(line + "\n" for line in lines)).encode("ascii")


def subscriptions_path(root: Path) -> Path:
    return root / SUBSCRIPTIONS
