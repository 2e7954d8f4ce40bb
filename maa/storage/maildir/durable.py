"""Durable file-system steps: fsync a directory, write a file atomically, make owned dirs."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def chown(path: Path, owner: tuple[int, int] | None) -> None:
    if owner is not None and os.geteuid() == 0:
        os.chown(path, *owner)


def make_dir(path: Path, owner: tuple[int, int] | None) -> bool:
    """Create ``path`` (not its parents); False if it was there already."""
    try:
        path.mkdir(mode=DIR_MODE)
    except FileExistsError:
        return False
    chown(path, owner)
    return True


def write_atomic(path: Path, data: bytes, owner: tuple[int, int] | None) -> None:
    """Replace ``path`` with ``data``: write a temp file beside it, fsync, rename, fsync dir."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        chown(tmp, owner)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def stamp(path: Path) -> str:
    """What changes when a file or directory changes: mtime (ns), size and inode."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "-"
    return f"{st.st_mtime_ns}:{st.st_size}:{st.st_ino}"
