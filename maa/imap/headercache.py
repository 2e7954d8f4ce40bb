"""Header fields kept in the folder's per-message cache, so the second Thunderbird-style
``BODY.PEEK[HEADER.FIELDS (...)]`` FETCH or ``SEARCH SUBJECT`` reads no message file (what
Dovecot's dovecot.index.cache does).

Whenever a message's header block has to be read anyway, the fields SEARCH asks about most are
cached with it, so a search after the client's first header FETCH is answered from the cache.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import BinaryIO

from maa import mail
from maa.mail.headers import (
    MAX_STREAM_HEADER_BYTES,
    field_value,
    first_raw_value,
    raw_values,
)
from maa.storage.interface import Folder

# The fields SEARCH asks about most, every field SORT and THREAD read (References too), and
# the rest of those Thunderbird's header FETCH asks for: one cached block per message then
# answers all three, where a second block for Thunderbird's list doubled the cache written
# by a first FETCH of a folder (a third of that command's time).
SEARCH_FIELDS = (
    "BCC",
    "CC",
    "CONTENT-TYPE",
    "DATE",
    "FROM",
    "IN-REPLY-TO",
    "MESSAGE-ID",
    "NEWSGROUPS",
    "PRIORITY",
    "REFERENCES",
    "REPLY-TO",
    "SUBJECT",
    "TO",
    "X-PRIORITY",
)


@functools.lru_cache(maxsize=256)
def cache_key(names: tuple[str, ...]) -> str:
    return "fields:" + " ".join(sorted({n.upper() for n in names}))


SEARCH_KEY = cache_key(SEARCH_FIELDS)
# Field names the fast path takes: printable ASCII without blanks or a colon (any other name
# goes to ``mail.header_fields``).
_PLAIN_NAME = re.compile(rb"[!-9;-~]+\Z")


@functools.lru_cache(maxsize=128)
def _fields_pattern(names: tuple[str, ...]) -> re.Pattern[bytes] | None:
    """One expression that picks the ``names`` fields straight out of a header block, rather
    than going through every field of it: a field starts a line, its name is followed by
    blanks and a colon (``mail.header_fields``'s rule: blanks around the name do not count,
    and an unfolded line of just the name counts too), and continuation lines start with a
    blank. (A header whose first line starts with a blank, which makes that line a field,
    is left to ``mail.header_fields``.)"""
    encoded = [name.encode("ascii", "replace") for name in names]
    if not encoded or not all(_PLAIN_NAME.match(name) for name in encoded):
        return None
    return re.compile(
        rb"^(?:%s)[ \t]*"
        rb"(?::[^\n]*(?:\n|\Z)(?:[ \t][^\n]*(?:\n|\Z))*"  # name: value
        rb"|\r?(?:\n|\Z)(?![ \t]))"  # a line of just the name, not folded
        % b"|".join(re.escape(name) for name in encoded),
        re.IGNORECASE | re.MULTILINE,
    )


def fields_block(header: bytes, names: tuple[str, ...]) -> bytes:
    """``mail.header_fields(header, names)`` of a header block, faster (a Thunderbird
    header FETCH asks this of every message)."""
    pattern = _fields_pattern(names)
    if pattern is None or header[:1] in (b" ", b"\t"):
        return mail.header_fields(header, names)
    fields = pattern.findall(header)
    fields.append(b"\r\n")
    return b"".join(fields)


# What follows a field's name (as in ``_fields_pattern``), matched in a lower-cased block
# after the name itself: an expression that starts with a literal is searched for by the
# regular expression engine's fast scan instead of being tried at every position (a tenth of
# the time on a typical block). Matches that do not start a line are then skipped.
_FIELD_REST = (
    rb"[ \t]*(?::[^\n]*(?:\n|\Z)(?:[ \t][^\n]*(?:\n|\Z))*"  # name: value
    rb"|\r?(?:\n|\Z)(?![ \t]))"  # a line of just the name, not folded
)


@functools.lru_cache(maxsize=128)
def _one_field_pattern(name: bytes) -> re.Pattern[bytes]:
    return re.compile(re.escape(name) + _FIELD_REST)


@functools.lru_cache(maxsize=128)
def _name_pattern(name: str) -> re.Pattern[bytes] | None:
    """``_one_field_pattern`` of a field name as asked for, None for one that is not plain
    (worked out once per name: SORT asks it of every message)."""
    wanted = name.lower().encode("ascii", "replace")
    return _one_field_pattern(wanted) if _PLAIN_NAME.match(wanted) else None


def _field_at(pattern: re.Pattern[bytes], lowered: bytes, pos: int = 0) -> re.Match[bytes] | None:
    """The first field from ``pos`` on that ``pattern`` (a ``_one_field_pattern``) finds in
    the lower-cased header block ``lowered`` (the same offsets as the block: only ASCII
    letters change), skipping matches inside some other field's line."""
    match = pattern.search(lowered, pos)
    while match is not None and match.start() and lowered[match.start() - 1] != 0x0A:
        match = pattern.search(lowered, match.end())
    return match


def field_values(header: bytes, name: str) -> list[bytes]:
    """``mail.headers.raw_values(header, name)`` of a header block (the cached field blocks
    are ones), faster: SEARCH SUBJECT asks it of every message."""
    pattern = _name_pattern(name)
    if pattern is None or header[:1] in (b" ", b"\t"):
        return raw_values(header, name)
    lowered = header.lower()
    values = []
    match = _field_at(pattern, lowered)
    while match is not None:
        start, end = match.span()
        values.append(field_value(header[start:end]))
        match = _field_at(pattern, lowered, end)
    return values


def first_field_value(header: bytes, name: str) -> bytes | None:
    """``mail.headers.first_raw_value(header, name)`` of a header block, as
    ``field_values`` finds the fields."""
    pattern = _name_pattern(name)
    if pattern is None or header[:1] in (b" ", b"\t"):
        return first_raw_value(header, name)
    match = _field_at(pattern, header.lower())
    return None if match is None else field_value(header[match.start() : match.end()])


@functools.lru_cache(maxsize=32)
def _name_patterns(names: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[bytes]], ...]:
    return tuple((name, _one_field_pattern(name.lower().encode("ascii"))) for name in names)


def first_values(header: bytes, names: tuple[str, ...]) -> dict[str, bytes]:
    """``first_field_value`` of each of ``names`` (plain field names) that the header block
    has, by name, lower-casing the block once (THREAD wants four per message)."""
    if header[:1] in (b" ", b"\t"):
        found = {name: first_raw_value(header, name) for name in names}
        return {name: value for name, value in found.items() if value is not None}
    lowered = header.lower()
    values: dict[str, bytes] = {}
    for name, pattern in _name_patterns(names):
        match = _field_at(pattern, lowered)
        if match is not None:
            values[name] = field_value(header[match.start() : match.end()])
    return values


def search_block(header: bytes) -> bytes:
    """``mail.header_fields(header, SEARCH_FIELDS)`` of a header block, faster."""
    return fields_block(header, SEARCH_FIELDS)


# A header block is read in pieces this large: most headers end within the first (one read
# instead of a readline per field), and no body is read past the piece that ends it.
HEADER_READ = 16 * 1024


def message_header(folder: Folder, uid: int) -> bytes:
    """The header block of message ``uid``, read from its file (``read_header``)."""
    with folder.open(uid) as stream:
        return read_header(stream)


def read_header(stream: BinaryIO) -> bytes:
    """The header block of the message ``stream`` holds (at its start), blank line
    included, as ``mail.header_block`` gives it, read in ``HEADER_READ`` pieces."""
    data = b""
    searched = 0
    while True:
        piece = stream.read(HEADER_READ)
        data += piece
        for blank in (b"\n", b"\r\n"):  # no header at all
            if data.startswith(blank):
                return blank
        # A CRLF blank line first (what a Maildir file reads as), then an LF one before it.
        crlf = data.find(b"\n\r\n", searched)
        lf = data.find(b"\n\n", searched, len(data) if crlf < 0 else crlf + 2)
        if lf >= 0:
            return data[: lf + 2]
        if crlf >= 0:
            return data[: crlf + 3]
        if not piece:
            return data  # all header, no blank line
        if len(data) >= MAX_STREAM_HEADER_BYTES:
            return data[:MAX_STREAM_HEADER_BYTES]
        searched = max(0, len(data) - 2)  # a blank line cut between two pieces


def header_fields(
    folder: Folder, uid: int, names: Iterable[str], header: Callable[[], bytes]
) -> bytes:
    """The message's ``names`` fields as a header block, from the cache when there.

    ``header`` loads the message's whole header block when the cache misses.
    """
    wanted = tuple(names)
    if _among_search_fields(wanted):
        block = search_fields(folder, uid, header)
        return block if len(wanted) == len(SEARCH_FIELDS) else fields_block(block, wanted)
    key = cache_key(wanted)
    value = folder.get_cached(uid, key)
    if value is None:
        value = _cache_fields(folder, uid, wanted, key, header())
    return value


def _cache_fields(folder: Folder, uid: int, names: tuple[str, ...], key: str, raw: bytes) -> bytes:
    """The ``names`` fields of the header block ``raw``, cached under ``key``, and the
    search fields with them when not cached yet (so SEARCH and SORT read no file after)."""
    value = fields_block(raw, names)
    folder.set_cached(uid, key, value)
    if folder.get_cached(uid, SEARCH_KEY) is None:
        folder.set_cached(uid, SEARCH_KEY, search_block(raw))
    return value


def fields_getter(
    folder: Folder, names: tuple[str, ...], header_of: Callable[[int], bytes]
) -> Callable[[int], bytes]:
    """``header_fields`` of a message by UID, worked out once for a FETCH over many
    messages; ``header_of(uid)`` loads the message's header block when the cache misses."""
    get_cached = folder.get_cached
    if _among_search_fields(names):
        whole = len(names) == len(SEARCH_FIELDS)

        def pick(uid: int) -> bytes:
            block = get_cached(uid, SEARCH_KEY)
            if block is None:
                block = search_block(header_of(uid))
                folder.set_cached(uid, SEARCH_KEY, block)
            return block if whole else fields_block(block, names)

        return pick
    key = cache_key(names)

    def get(uid: int) -> bytes:
        value = get_cached(uid, key)
        if value is None:
            value = _cache_fields(folder, uid, names, key, header_of(uid))
        return value

    return get


@functools.lru_cache(maxsize=128)
def _among_search_fields(names: tuple[str, ...]) -> bool:
    return {n.upper() for n in names} <= set(SEARCH_FIELDS)


def search_fields(folder: Folder, uid: int, header: Callable[[], bytes]) -> bytes:
    """The fields of ``SEARCH_FIELDS`` as one header block."""
    value = folder.get_cached(uid, SEARCH_KEY)
    if value is None:
        value = search_block(header())
        folder.set_cached(uid, SEARCH_KEY, value)
    return value
