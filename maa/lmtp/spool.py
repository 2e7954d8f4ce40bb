"""Where an incoming message waits while it arrives and while it is delivered.

Small messages stay in memory (every recipient's delivery reads the same bytes); past
``MEMORY_LIMIT`` the content rolls over to a file in ``<data_dir>/tmp`` so a 50 MB message
is never held whole in memory. Each delivery gets its own reader (``open``), so recipients
are delivered concurrently from one spool.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

# Messages up to this size are kept in memory: a typical mail (tens of KB) then costs no
# file creation, write and unlink; 1 MB times the connections of a busy Postfix stays modest.
MEMORY_LIMIT = 1024 * 1024
# Spool files older than this at startup were left by a crash; nothing can still use them.
STALE_AFTER = 24 * 3600
SPOOL_PREFIX = "lmtp-"


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.size = 0
        self._memory: list[bytes] | None = []
        self._bytes: bytes | None = None
        self._file: BinaryIO | None = None
        self.path: Path | None = None

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self._memory is not None:
            self._memory.append(data)
            if self.size <= MEMORY_LIMIT:
                return
            self._roll_over()
            return
        assert self._file is not None
        self._file.write(data)

    def _roll_over(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=SPOOL_PREFIX, dir=self.directory)
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb")
        assert self._memory is not None
        for piece in self._memory:
            self._file.write(piece)
        self._memory = None

    def finish(self) -> None:
        """No more content: readers may be opened."""
        if self._memory is not None:
            self._bytes = b"".join(self._memory)
            self._memory = None
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def data(self) -> bytes | None:
        """The whole message, if it stayed in memory (after ``finish``)."""
        return self._bytes

    def open(self) -> BinaryIO:
        if self._bytes is not None:
            return io.BytesIO(self._bytes)
        assert self.path is not None, "open() before finish()"
        return self.path.open("rb")

    def discard(self) -> None:
        self._memory = None
        self._bytes = None
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None


def remove_stale(directory: Path, now: float | None = None) -> int:
    """Delete spool files a crashed process left behind; returns how many."""
    now = time.time() if now is None else now
    removed = 0
    try:
        entries = list(directory.iterdir())
    except FileNotFoundError:
        return 0
    for entry in entries:
        if entry.name.startswith(SPOOL_PREFIX):
            try:
                if now - entry.stat().st_mtime > STALE_AFTER:
                    entry.unlink()
                    removed += 1
            except FileNotFoundError:
                pass
    return removed
