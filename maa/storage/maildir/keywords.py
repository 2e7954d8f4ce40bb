"""``dovecot-keywords``: keyword index -> name; index 0 is letter ``a`` in file names."""

from __future__ import annotations

from pathlib import Path

from maa.storage.maildir.durable import write_atomic

FILENAME = "dovecot-keywords"


def parse(data: bytes) -> list[str]:
    found: dict[int, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        index, _, name = line.partition(" ")
        if index.isdigit() and name:
            found[int(index)] = name
    # Keep positions: a gap (never written by Dovecot) stays a placeholder nobody matches.
    return [found.get(i, "") for i in range(max(found, default=-1) + 1)]


def load(path: Path) -> list[str]:
    try:
        return parse(path.read_bytes())
    except FileNotFoundError:
        return []


def save(path: Path, keywords: list[str], owner: tuple[int, int] | None) -> None:
    text = "".join(f"{i} {name}\n" for i, name in enumerate(keywords) if name)
    write_atomic(path, text.encode("utf-8"), owner)
