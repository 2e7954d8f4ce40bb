"""Writing one message file into tmp/: LF line ends, fsynced, sizes counted on the way."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import BinaryIO

from maa.storage.lineends import chunks_of, crlf_to_lf
from maa.storage.maildir.durable import FILE_MODE, chown

# A file in tmp/ older than this was left by a writer that crashed mid-append; nothing will
# ever move it into new/ or cur/ (Dovecot's MAILDIR_TMP_DELETE_SECS, 36 hours).
STALE_TMP_SECS = 36 * 3600


def write_tmp(
    path: Path, source: bytes | BinaryIO, owner: tuple[int, int] | None, *, fsync: bool = True
) -> tuple[int, int]:
    """Stream ``source`` to a new file at ``path`` with CRLF turned to LF; fsync it unless
    the caller makes it durable itself (``fsync=False``). Returns (bytes on disk, bytes of
    the CRLF form)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    size = 0
    vsize = 0
    last = b""
    try:
        with os.fdopen(fd, "wb", buffering=0) as handle:
            for chunk in crlf_to_lf(chunks_of(source)):
                handle.write(chunk)
                size += len(chunk)
                # Each LF not preceded by CR gains a CR in the CRLF form (a chunk of LF
                # lines holds no CR at all: one memchr spares counting CR LF).
                extra = chunk.count(b"\n")
                if b"\r" in chunk:
                    extra -= chunk.count(b"\r\n")
                if chunk[:1] == b"\n" and last == b"\r":
                    extra -= 1
                vsize += len(chunk) + extra
                last = chunk[-1:]
            if fsync:
                os.fsync(handle.fileno())
        chown(path, owner)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return size, vsize


def remove_stale_tmp(directory: Path, now: float | None = None) -> int:
    """Delete files in a Maildir's tmp/ that a crashed writer left behind; how many."""
    cutoff = (time.time() if now is None else now) - STALE_TMP_SECS
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            pass
    return removed
