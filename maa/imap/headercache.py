"""Header fields kept in the folder's per-message cache, so the second Thunderbird-style
``BODY.PEEK[HEADER.FIELDS (...)]`` FETCH or ``SEARCH SUBJECT`` reads no message file (what
Dovecot's dovecot.index.cache does)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from maa import mail
from maa.storage.interface import Folder


@functools.lru_cache(maxsize=256)
def cache_key(names: tuple[str, ...]) -> str:
    return "fields:" + " ".join(sorted({n.upper() for n in names}))


def header_fields(
    folder: Folder, uid: int, names: Iterable[str], header: Callable[[], bytes]
) -> bytes:
    """The message's ``names`` fields as a header block, from the cache when there.

    ``header`` loads the message's whole header block when the cache misses.
    """
    wanted = tuple(names)
    key = cache_key(wanted)
    value = folder.get_cached(uid, key)
    if value is None:
        value = mail.header_fields(header(), wanted)
        folder.set_cached(uid, key, value)
    return value
