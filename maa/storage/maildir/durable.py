"""Durable file-system steps: fsync a directory, write a file atomically, make owned dirs."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def _load_syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        syncfs: Callable[[int], int] = libc.syncfs
        return syncfs
    except (OSError, AttributeError):
        return None


_SYNCFS = _load_syncfs()
# Linux's syncfs(2) makes every file of one filesystem durable with one journal commit and
# one device cache flush, where an fsync per file costs one of each per file: concurrent
# deliveries then share one sync (group commit). Since Linux 5.8 it reports write-back
# errors of any file on the filesystem, as fsync does for its own file.
CAN_SYNC_FILESYSTEM = _SYNCFS is not None


def sync_filesystem(path: Path) -> None:
    """Make everything written on ``path``'s filesystem durable (``syncfs``)."""
    assert _SYNCFS is not None, "sync_filesystem without syncfs(2)"
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _SYNCFS(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(path))
    finally:
        os.close(fd)


def sync_file_data(path: Path) -> None:
    """Make one file's content durable (``fdatasync``)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)


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
