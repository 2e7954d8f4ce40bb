"""Maildir file names: unique base names, the ``,S=``/``,W=`` sizes and the ``:2,`` info.

``1700000000.M123456P4242Q7.host,S=1234,W=1260:2,FSab`` is a message whose LF file is 1234
bytes (1260 in CRLF form), flagged \\Flagged and \\Seen, with keywords 0 and 1 of
dovecot-keywords. Dovecot, Courier, mutt and Postfix all read these names.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from dataclasses import dataclass

from maa.storage.interface import ANSWERED, DELETED, DRAFT, FLAGGED, SEEN

INFO_SEPARATOR = ":2,"

# Maildir info letters for the system flags (Dovecot's maildir-filename-flags.c).
FLAG_LETTERS: dict[str, str] = {
    DRAFT: "D",
    FLAGGED: "F",
    ANSWERED: "R",
    SEEN: "S",
    DELETED: "T",
}
LETTER_FLAGS = {letter: flag for flag, letter in FLAG_LETTERS.items()}
# Keywords a-z are indexes 0-25 of dovecot-keywords; further keywords live in the index only.
KEYWORD_LETTERS = "abcdefghijklmnopqrstuvwxyz"

_counter = itertools.count(1)
_counter_lock = threading.Lock()


def _hostname() -> str:
    # '/' and ':' cannot appear in a Maildir name; Dovecot writes them as octal escapes.
    return socket.gethostname().replace("/", "\\057").replace(":", "\\072") or "localhost"


_HOST = _hostname()


def unique_base() -> str:
    """A new base name, unique across processes and threads on this host."""
    now = time.time()
    with _counter_lock:
        n = next(_counter)
    seconds = int(now)
    micros = int((now - seconds) * 1_000_000)
    return f"{seconds}.M{micros}P{os.getpid()}Q{n}.{_HOST}"


def with_sizes(base: str, size: int, vsize: int) -> str:
    return f"{base},S={size},W={vsize}"


@dataclass(frozen=True, slots=True)
class Name:
    """A parsed file name: the base (what dovecot-uidlist records) and the info letters
    (None when the name has no ``:2,`` part, as a fresh file in new/)."""

    base: str
    info: str | None

    @property
    def filename(self) -> str:
        return self.base if self.info is None else f"{self.base}{INFO_SEPARATOR}{self.info}"


def parse(filename: str) -> Name:
    base, sep, info = filename.partition(INFO_SEPARATOR)
    if not sep:
        # Other info versions (":1,") and anything else stay part of an opaque base.
        return Name(filename, None)
    return Name(base, info)


def sizes(base: str) -> tuple[int | None, int | None]:
    """(S=, W=) from a base name; None for a field that is absent or malformed."""
    size: int | None = None
    vsize: int | None = None
    for field in base.split(",")[1:]:
        key, _, value = field.partition("=")
        if not value.isdigit():
            continue
        if key == "S":
            size = int(value)
        elif key == "W":
            vsize = int(value)
    return size, vsize


def info_for(flags: frozenset[str], keyword_index: dict[str, int], keep: str = "") -> str:
    """The info letters for ``flags``: system letters then keyword letters, each ASCII-sorted.
    ``keep`` carries letters maa does not interpret (``P``, passed) from the old name."""
    letters = {FLAG_LETTERS[f] for f in flags if f in FLAG_LETTERS}
    letters |= {ch for ch in keep if ch.isupper() and ch not in LETTER_FLAGS}
    for flag in flags:
        index = keyword_index.get(flag)
        if index is not None and index < len(KEYWORD_LETTERS):
            letters.add(KEYWORD_LETTERS[index])
    return "".join(sorted(letters))


def flags_of(info: str | None, keywords: list[str]) -> frozenset[str]:
    if not info:
        return frozenset()
    flags = set()
    for ch in info:
        if ch in LETTER_FLAGS:
            flags.add(LETTER_FLAGS[ch])
        elif "a" <= ch <= "z":
            index = ord(ch) - ord("a")
            if index < len(keywords):
                flags.add(keywords[index])
    return frozenset(flags)


class FlagReader:
    """``flags_of`` for many names against one dovecot-keywords list (a scan of a folder),
    each info string worked out once (a folder's names share a handful of them); with
    ``old`` flags, the keywords too many for a letter that only the index keeps stay."""

    def __init__(self, keywords: list[str]) -> None:
        self._known = keywords
        self._beyond = frozenset(keywords[len(KEYWORD_LETTERS) :])
        self._memo: dict[str | None, frozenset[str]] = {}

    def __call__(self, info: str | None, old: frozenset[str] = frozenset()) -> frozenset[str]:
        flags = self._memo.get(info)
        if flags is None:
            flags = self._memo[info] = flags_of(info, self._known)
        if old and self._beyond:
            flags = flags | (old & self._beyond)
        return flags
