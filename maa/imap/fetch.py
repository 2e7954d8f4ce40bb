"""FETCH: build each message's response from the index when possible, parse only when needed.

FLAGS, UID, RFC822.SIZE and INTERNALDATE come from the storage index; ENVELOPE and
BODYSTRUCTURE from the per-message cache (parsed once, then ``Folder.set_cached``); header
items read only the header block; ``BODY[]<o.n>`` reads just that byte range.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from maa import mail
from maa.imap import headercache
from maa.imap.selected import RECENT, SelectedView
from maa.imap.streaming import STREAM_THRESHOLD, StreamedLiteral
from maa.proto.imap import response
from maa.proto.imap.commands import format_date_time
from maa.proto.imap.fetchattrs import FetchItem, Section
from maa.storage.interface import SEEN, MessageInfo, MessageNotFound

# Items that read or parse the message itself (anything else is answered from the index).
_CONTENT_ITEMS = frozenset({"RFC822", "RFC822.TEXT"})
_HEADER_ITEMS = frozenset({"RFC822.HEADER", "ENVELOPE"})
# Items that mark the message \Seen when fetched (RFC 3501 6.4.5).
_SEEN_ITEMS = frozenset({"RFC822", "RFC822.TEXT"})


def sets_seen(item: FetchItem) -> bool:
    if isinstance(item, Section):
        return not item.peek
    return item in _SEEN_ITEMS


@dataclass
class _Message:
    """Lazily loaded content of one message during one FETCH."""

    view: SelectedView
    uid: int
    _raw: bytes | None = None
    _header: bytes | None = None
    _parts: mail.MessageParts | None = field(default=None)

    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = self.view.folder.read(self.uid)
        return self._raw

    def header(self) -> bytes:
        if self._header is None:
            if self._raw is not None:
                self._header = mail.header_block(self._raw)
            else:
                self._header = headercache.message_header(self.view.folder, self.uid)
        return self._header

    def parts(self) -> mail.MessageParts:
        if self._parts is None:
            self._parts = mail.MessageParts.parse(self.raw())
        return self._parts

    def cached(self, name: str) -> bytes:
        folder = self.view.folder
        value = folder.get_cached(self.uid, name)
        if value is None:
            if name == "envelope":
                value = mail.envelope(self.header())
            else:
                value = mail.bodystructure(self.parts(), extensible=name == "bodystructure")
            folder.set_cached(self.uid, name, value)
        return value


@functools.lru_cache(maxsize=256)
def _section_name(section: Section) -> bytes:
    return section.response_name().encode()


def _partial(data: bytes, partial: tuple[int, int] | None) -> bytes:
    if partial is None:
        return data
    offset, length = partial
    return data[offset : offset + length]


def _section(message: _Message, section: Section) -> bytes:
    if not section.part:
        if section.text is None:
            if section.partial is not None and message._raw is None:
                offset, length = section.partial
                return message.view.folder.read(message.uid, offset, length)
            return _partial(message.raw(), section.partial)
        if section.text == "HEADER":
            return _partial(message.header(), section.partial)
        if section.text == "HEADER.FIELDS":
            data = headercache.header_fields(
                message.view.folder, message.uid, section.fields, message.header
            )
            return _partial(data, section.partial)
        if section.text == "HEADER.FIELDS.NOT":
            data = mail.header_fields(message.header(), section.fields, exclude=True)
            return _partial(data, section.partial)
    text: Any = section.text  # one of SECTION_TEXTS: the parser admits nothing else
    spec = mail.SectionSpec(part=section.part, text=text, fields=section.fields)
    data = mail.section(message.raw(), message.parts(), spec)
    return _partial(data, section.partial)


Piece = bytes | StreamedLiteral

# Thunderbird reads large messages as BODY.PEEK[]<offset.65536> chunks: ranges up to this size
# are read with Folder.read(uid, offset, length) (bounded memory, no reading from the start).
PARTIAL_IN_MEMORY = 1024 * 1024

# The items answered from the index alone (``UID FETCH 1:* (FLAGS)`` on 100,000 messages).
_INDEX_ITEMS: dict[str, Callable[[SelectedView, int], bytes]] = {
    "UID": lambda view, uid: b"UID %d" % uid,
    "FLAGS": SelectedView.flags_item,
    "RFC822.SIZE": lambda view, uid: b"RFC822.SIZE %d" % view.infos[uid].size,
    "MODSEQ": lambda view, uid: b"MODSEQ (%d)" % view.infos[uid].modseq,
    "INTERNALDATE": lambda view, uid: (
        b'INTERNALDATE "%s"' % format_date_time(view.infos[uid].internal_date).encode()
    ),
}


def _streamed(message: _Message, name: bytes, item: FetchItem) -> list[Piece] | None:
    """A whole-message literal (or a range of it) sent from the file when it is large."""
    size = message.view.infos[message.uid].size
    if size <= STREAM_THRESHOLD or message._raw is not None:
        return None
    offset, length = 0, size
    if isinstance(item, Section):
        if item.part or item.text is not None:
            return None
        if item.partial is not None:
            offset = min(item.partial[0], size)
            length = min(item.partial[1], size - offset)
            if length <= PARTIAL_IN_MEMORY:
                return None  # Folder.read of the range: no skipping through the file
    piece = StreamedLiteral(message.view.folder, message.uid, offset, length)
    return [name + b" {%d}\r\n" % length, piece]


def _item_pieces(message: _Message, item: FetchItem) -> list[Piece]:
    if item == "RFC822" or isinstance(item, Section):
        name = _section_name(item) if isinstance(item, Section) else b"RFC822"
        pieces = _streamed(message, name, item)
        if pieces is not None:
            return pieces
    return [_item(message, item)]


def _item(message: _Message, item: FetchItem) -> bytes:
    view, uid = message.view, message.uid
    if isinstance(item, Section):
        return _section_name(item) + b" " + response.literal(_section(message, item))
    if isinstance(item, str) and item in _INDEX_ITEMS:
        return _INDEX_ITEMS[item](view, uid)
    if item == "ENVELOPE":
        return b"ENVELOPE " + message.cached("envelope")
    if item == "BODYSTRUCTURE":
        return b"BODYSTRUCTURE " + message.cached("bodystructure")
    if item == "BODY":
        return b"BODY " + message.cached("body")
    if item == "RFC822":
        return b"RFC822 " + response.literal(message.raw())
    if item == "RFC822.HEADER":
        return b"RFC822.HEADER " + response.literal(message.header())
    if item == "RFC822.TEXT":
        raw = message.raw()
        return b"RFC822.TEXT " + response.literal(raw[len(mail.header_block(raw)) :])
    raise ValueError(item)


def fetch_lines(
    view: SelectedView,
    pairs: list[tuple[int, int]],
    items: tuple[FetchItem, ...],
    *,
    by_uid: bool = False,
) -> tuple[list[Piece], bool]:
    """The untagged FETCH lines, and whether some messages had been expunged meanwhile.

    Messages fetched with a non-PEEK body item get \\Seen first (unless the folder was
    opened read-only), and FLAGS is added to their response so the client learns of it.

    A message another session expunged is left out of a UID FETCH (its EXPUNGE follows in
    the same response). A sequence-number FETCH may not be told of the EXPUNGE yet, so it
    answers what the index still knows and NIL for the content, as Dovecot does: a NO to
    FETCH stops clients that a short answer does not (RFC 2180 4.1).
    """
    to_mark: list[int] = []
    if not view.readonly and any(sets_seen(i) for i in items):
        to_mark = [
            uid
            for _, uid in pairs
            if uid in view.infos and uid not in view.expunged and SEEN not in view.infos[uid].flags
        ]
        if to_mark:
            changed, _ = view.folder.store_flags(to_mark, [SEEN], "add")
            view.update(changed)
    marked = set(to_mark)
    lines: list[Piece] = []
    missing = False
    if all(isinstance(i, str) and i in _INDEX_ITEMS for i in items):
        return _index_lines(view, pairs, items, by_uid=by_uid)
    plan = _plan(items)
    plan_with_flags = _plan((*items, "FLAGS")) if marked and "FLAGS" not in items else plan
    cached = None if marked else _column_lines(view, pairs, items)
    told: list[int] = []
    for index, (seq, uid) in enumerate(pairs):
        if cached is not None and (line := cached[index]) is not None:
            lines.append(line)
            told.append(uid)
            continue
        if uid not in view.infos:
            missing = True
            continue
        wanted, render = items, plan
        if uid in marked and "FLAGS" not in items:
            wanted, render = (*items, "FLAGS"), plan_with_flags
        try:
            if uid in view.expunged:
                raise MessageNotFound(uid)
            pieces = render(_Message(view, uid))
        except MessageNotFound:
            missing = True
            if by_uid:
                continue
            pieces = _message_pieces(_Message(view, uid), wanted, expunged=True)
        lines.append(b"* %d FETCH (" % seq)
        lines.extend(pieces)
        lines.append(b")\r\n")
    if told and "FLAGS" in items and view.untold:
        view.untold.difference_update(told)  # the client now knows these flags
    return lines, missing


def _fields_columns(
    view: SelectedView, uids: list[int], sections: list[tuple[str, ...]]
) -> list[list[bytes | None]]:
    """Each section's fields for each message (None where its file is gone), a header block
    read once per message where the cache misses."""
    header_of = functools.lru_cache(maxsize=1)(
        functools.partial(headercache.message_header, view.folder)
    )
    getters = [headercache.fields_getter(view.folder, names, header_of) for names in sections]
    if len(getters) == 1:
        return [_column(getters[0], uids)]
    # Message by message, so that the header read for one section serves the others.
    rows = [[_column(get, [uid])[0] for get in getters] for uid in uids]
    return [[row[index] for row in rows] for index in range(len(getters))]


def _column(get: Callable[[int], bytes], uids: list[int]) -> list[bytes | None]:
    column: list[bytes | None] = []
    for uid in uids:
        try:
            column.append(get(uid))
        except MessageNotFound:  # expunged by another session meanwhile
            column.append(None)
    return column


def _in_columns(item: FetchItem) -> bool:
    """Whether ``_column_lines`` answers the item: an index item, or a whole
    ``HEADER.FIELDS`` section that leaves the flags as they are."""
    if isinstance(item, Section):
        return item.peek and not item.part and item.text == "HEADER.FIELDS" and item.partial is None
    return item in _INDEX_FORMATS


def _column_lines(
    view: SelectedView, pairs: list[tuple[int, int]], items: tuple[FetchItem, ...]
) -> list[bytes | None] | None:
    """For a FETCH of index items and whole ``HEADER.FIELDS`` sections (Thunderbird's header
    FETCH over a folder), each message's line filled into one format from the index and the
    header cache (filled from the message file where it misses), a column of values per item;
    None for a message whose file is gone (the general path answers for it). None for other
    items, or when some message is gone from the view."""
    if not all(_in_columns(item) for item in items):
        return None
    uids = [uid for _, uid in pairs]
    got = [view.infos.get(uid) for uid in uids]
    if None in got or (view.expunged and not view.expunged.isdisjoint(uids)):
        return None
    infos = cast(list[MessageInfo], got)
    recent = view.recent
    wanted = [i.fields for i in items if isinstance(i, Section)]
    sections = iter(_fields_columns(view, uids, wanted) if wanted else [])
    formats: list[bytes] = []
    columns: list[list[Any]] = [[seq for seq, _ in pairs]]
    for item in items:
        if item == "UID":
            formats.append(b"UID %d")
            columns.append(uids)
        elif isinstance(item, str) and item in _INDEX_FORMATS:
            formats.append(_INDEX_FORMATS[item][0])
            columns.append(_index_column(item, infos, recent))
        elif isinstance(item, Section):
            formats.append(_section_name(item) + b" {%d}\r\n%s")
            blocks = next(sections)
            columns.append([0 if b is None else len(b) for b in blocks])
            columns.append(blocks)
    template = b"* %d FETCH (" + b" ".join(formats) + b")\r\n"
    return [None if None in row else template % row for row in zip(*columns, strict=True)]


# Each index item as a format and its value from (UID, message info, whether \Recent).
_INDEX_FORMATS: dict[str, tuple[bytes, Callable[[int, MessageInfo, bool], object]]] = {
    "UID": (b"UID %d", lambda uid, info, recent: uid),
    "FLAGS": (
        b"FLAGS %s",
        lambda uid, info, recent: response.flag_list(info.flags | RECENT if recent else info.flags),
    ),
    "RFC822.SIZE": (b"RFC822.SIZE %d", lambda uid, info, recent: info.size),
    "MODSEQ": (b"MODSEQ (%d)", lambda uid, info, recent: info.modseq),
    "INTERNALDATE": (
        b'INTERNALDATE "%s"',
        lambda uid, info, recent: format_date_time(info.internal_date).encode(),
    ),
}


def _index_lines(
    view: SelectedView, pairs: list[tuple[int, int]], items: tuple[FetchItem, ...], *, by_uid: bool
) -> tuple[list[Piece], bool]:
    """``fetch_lines`` for items the index answers (``UID FETCH 1:* (FLAGS)`` over a whole
    folder, what every client sends on opening one): one line format filled per message."""
    formats = [_INDEX_FORMATS[str(item)] for item in items]
    template = b"* %d FETCH (" + b" ".join(f for f, _ in formats) + b")\r\n"
    values = [value for _, value in formats]
    infos, expunged, recent = view.infos, view.expunged, view.recent
    filled = _column_lines(view, pairs, items)
    if filled is not None:  # every message there: a line each, by columns
        if "FLAGS" in items and view.untold:
            view.untold.difference_update(uid for _, uid in pairs)
        return cast(list[Piece], filled), False
    lines: list[Piece] = []
    told: list[int] = []
    for seq, uid in pairs:
        info = infos.get(uid)
        if info is None or (by_uid and uid in expunged):
            continue
        is_recent = uid in recent
        lines.append(template % (seq, *[value(uid, info, is_recent) for value in values]))
        told.append(uid)
    if "FLAGS" in items and view.untold:
        view.untold.difference_update(told)  # the client now knows these flags
    return lines, len(told) < len(pairs)


def _index_column(item: str, infos: list[MessageInfo], recent: set[int]) -> list[Any]:
    """One index item's values for each message, by one loop (the common items spelled out
    rather than a value function called per message)."""
    if item == "FLAGS":
        flag_list = response.flag_list
        if recent:
            return [flag_list(i.flags | RECENT if i.uid in recent else i.flags) for i in infos]
        return [flag_list(i.flags) for i in infos]
    if item == "RFC822.SIZE":
        return [i.size for i in infos]
    if item == "MODSEQ":
        return [i.modseq for i in infos]
    value = _INDEX_FORMATS[item][1]
    return [value(i.uid, i, i.uid in recent) for i in infos]


# What a sequence-number FETCH answers for content that is gone (Dovecot's placeholders).
_GONE_ENVELOPE = b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
_GONE_BODY = b'("text" "plain" NIL NIL NIL "7bit" 0 0)'


def _gone_item(message: _Message, item: FetchItem) -> bytes:
    """``item`` of a message expunged elsewhere: index data as known, content as NIL."""
    view, uid = message.view, message.uid
    if isinstance(item, Section):
        return _section_name(item) + b" NIL"
    if isinstance(item, str) and item in _INDEX_ITEMS:
        return _INDEX_ITEMS[item](view, uid)
    if item in ("ENVELOPE", "BODYSTRUCTURE", "BODY"):
        cached = view.folder.get_cached(uid, item.lower())
        if cached is None:
            cached = _GONE_ENVELOPE if item == "ENVELOPE" else _GONE_BODY
        return item.encode() + b" " + cached
    return str(item).encode() + b" NIL"  # RFC822, RFC822.HEADER, RFC822.TEXT


def _message_pieces(
    message: _Message, items: tuple[FetchItem, ...], *, expunged: bool = False
) -> list[Piece]:
    out: list[Piece] = []
    for index, item in enumerate(items):
        if index:
            out.append(b" ")
        if expunged:
            out.append(_gone_item(message, item))
        else:
            out.extend(_item_pieces(message, item))
    return out


Render = Callable[[_Message], list[Piece]]


def _render(item: FetchItem) -> Render:
    """How one item is answered for each message of a FETCH, worked out once per command:
    the index items and a HEADER.FIELDS section (Thunderbird's header FETCH over a whole
    folder) skip the per-message dispatch and the section name is built once."""
    if isinstance(item, str) and item in _INDEX_ITEMS:
        answer = _INDEX_ITEMS[item]
        return lambda message: [answer(message.view, message.uid)]
    if isinstance(item, Section) and not item.part and item.text == "HEADER.FIELDS":
        prefix = _section_name(item) + b" "
        return lambda message: [prefix + response.literal(_section(message, item))]
    return lambda message: _item_pieces(message, item)


def _plan(items: tuple[FetchItem, ...]) -> Callable[[_Message], list[Piece]]:
    renders = [_render(item) for item in items]

    def pieces(message: _Message) -> list[Piece]:
        out: list[Piece] = []
        for index, render in enumerate(renders):
            if index:
                out.append(b" ")
            out.extend(render(message))
        return out

    return pieces
