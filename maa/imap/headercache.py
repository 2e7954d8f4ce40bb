"""Header fields kept in the folder's per-message cache, so the second Thunderbird-style
``BODY.PEEK[HEADER.FIELDS (...)]`` FETCH or ``SEARCH SUBJECT`` reads no message file (what
Dovecot's dovecot.index.cache does).

Whenever a message's header block has to be read anyway, the fields SEARCH asks about most are
cached with it, so a search after the client's first header FETCH is answered from the cache.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from maa import mail
from maa.storage.interface import Folder

SEARCH_FIELDS = ("BCC", "CC", "DATE", "FROM", "IN-REPLY-TO", "MESSAGE-ID", "SUBJECT", "TO")


@functools.lru_cache(maxsize=256)
def cache_key(names: tuple[str, ...]) -> str:
    return "fields:" + " ".join(sorted({n.upper() for n in names}))


SEARCH_KEY = cache_key(SEARCH_FIELDS)


def header_fields(
    folder: Folder, uid: int, names: Iterable[str], header: Callable[[], bytes]
) -> bytes:
    """The message's ``names`` fields as a header block, from the cache when there.

    ``header`` loads the message's whole header block when the cache misses.
    """
    wanted = tuple(names)
    if {n.upper() for n in wanted} <= set(SEARCH_FIELDS):
        block = search_fields(folder, uid, header)
        return block if len(wanted) == len(SEARCH_FIELDS) else mail.header_fields(block, wanted)
    key = cache_key(wanted)
    value = folder.get_cached(uid, key)
    if value is None:
        raw = header()
        value = mail.header_fields(raw, wanted)
        folder.set_cached(uid, key, value)
        if folder.get_cached(uid, SEARCH_KEY) is None:
            folder.set_cached(uid, SEARCH_KEY, mail.header_fields(raw, SEARCH_FIELDS))
    return value


def search_fields(folder: Folder, uid: int, header: Callable[[], bytes]) -> bytes:
    """The fields of ``SEARCH_FIELDS`` as one header block."""
    value = folder.get_cached(uid, SEARCH_KEY)
    if value is None:
        value = mail.header_fields(header(), SEARCH_FIELDS)
        folder.set_cached(uid, SEARCH_KEY, value)
    return value
