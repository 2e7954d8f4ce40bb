"""SEARCH: evaluate a key tree against each message, reading content only for the keys that
need it (flags, sizes, dates and sets come from the index)."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from dataclasses import dataclass

from maa import mail
from maa.imap import headercache
from maa.imap.selected import SelectedView
from maa.mail.rfc2047 import decode_header_value
from maa.proto.imap import searchkeys as k
from maa.proto.imap.modifiers import ModSeq
from maa.storage.interface import ANSWERED, DELETED, DRAFT, FLAGGED, SEEN, MessageNotFound

_FLAG_KEYS: dict[str, tuple[str, bool]] = {
    "ANSWERED": (ANSWERED, True),
    "DELETED": (DELETED, True),
    "DRAFT": (DRAFT, True),
    "FLAGGED": (FLAGGED, True),
    "SEEN": (SEEN, True),
    "UNANSWERED": (ANSWERED, False),
    "UNDELETED": (DELETED, False),
    "UNDRAFT": (DRAFT, False),
    "UNFLAGGED": (FLAGGED, False),
    "UNSEEN": (SEEN, False),
}
_ADDRESS_HEADERS = {"FROM": "From", "TO": "To", "CC": "Cc", "BCC": "Bcc"}


@dataclass
class _Candidate:
    view: SelectedView
    seq: int
    uid: int
    _header: bytes | None = None
    _raw: bytes | None = None

    def header(self) -> bytes:
        if self._header is None:
            self._header = headercache.message_header(self.view.folder, self.uid)
        return self._header

    def fields(self, name: str) -> bytes:
        """Just the ``name`` fields, from the folder cache when there."""
        return _field_block(self.view, self.uid, name, self.header)

    def folded(self, kind: str, name: str) -> list[str]:
        """Decoded field values (``kind`` "addresses" or "text"), case-folded for
        ``mail.contains``; see ``_folded_values``."""
        return _folded_values(self.view, kind, name, self.uid, self.header)

    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = self.view.folder.read(self.uid)
        return self._raw


def _internal_date(c: _Candidate) -> datetime.date:
    return datetime.datetime.fromtimestamp(c.view.infos[c.uid].internal_date, datetime.UTC).date()


def _compare(name: str, value: datetime.date, wanted: datetime.date) -> bool:
    if name.endswith("BEFORE"):
        return value < wanted
    if name.endswith("ON"):
        return value == wanted
    return value >= wanted


def matches(key: k.SearchKey, c: _Candidate) -> bool:
    info = c.view.infos[c.uid]
    if isinstance(key, k.And):
        return all(matches(sub, c) for sub in key.keys)
    if isinstance(key, k.Or):
        return matches(key.left, c) or matches(key.right, c)
    if isinstance(key, k.Not):
        return not matches(key.key, c)
    if isinstance(key, k.Simple):
        if key.name == "ALL":
            return True
        if key.name in _FLAG_KEYS:
            flag, wanted = _FLAG_KEYS[key.name]
            return (flag in info.flags) == wanted
        recent = c.uid in c.view.recent
        if key.name == "RECENT":
            return recent
        if key.name == "NEW":
            return recent and SEEN not in info.flags
        if key.name == "OLD":
            return not recent
        raise ValueError(key.name)
    if isinstance(key, k.Keyword):
        return (key.flag in info.flags) == (key.name == "KEYWORD")
    if isinstance(key, ModSeq):
        return info.modseq >= key.modseq
    if isinstance(key, k.Size):
        return info.size > key.size if key.name == "LARGER" else info.size < key.size
    if isinstance(key, k.Sequence):
        if key.uid:
            return key.set.contains(c.uid, c.view.uids[-1])
        return key.set.contains(c.seq, len(c.view.uids))
    if isinstance(key, k.Date):
        if key.name.startswith("SENT"):
            sent = mail.header_date(c.fields("Date"))
            return sent is not None and _compare(key.name[4:], sent.date(), key.date)
        return _compare(key.name, _internal_date(c), key.date)
    if isinstance(key, k.Text):
        return _text_matches(key, c)
    raise TypeError(key)


def _text_matches(key: k.Text, c: _Candidate) -> bool:
    if key.name in _ADDRESS_HEADERS:
        # Addresses as people write them, display names decoded: "Bob <bob@example.test>"
        name = _ADDRESS_HEADERS[key.name]
        needle = key.value.casefold()
        return any(needle in v for v in c.folded("addresses", name))
    if key.name in ("SUBJECT", "HEADER"):
        name = key.field if key.name == "HEADER" else "Subject"
        values = c.folded("text", name)
        if not key.value:  # HEADER field "" matches every message having the field
            return bool(values)
        needle = key.value.casefold()
        return any(needle in v for v in values)
    raw = c.raw()
    body = mail.search_text(raw, mail.MessageParts.parse(raw))
    if key.name == "BODY":
        return mail.contains(body, key.value)
    headers = c.header().decode("utf-8", "replace")
    return mail.contains(headers, key.value) or mail.contains(body, key.value)


# A compiled key: whether the message (sequence number, UID) matches.
Test = Callable[[int, int], bool]


def _always(seq: int, uid: int) -> bool:
    return True


def _field_block(
    view: SelectedView, uid: int, name: str, header: Callable[[], bytes] | None = None
) -> bytes:
    """Just the ``name`` fields of the message, from the folder cache when there
    (``header`` loads the whole header block when it is not)."""
    if header is None:
        header = functools.partial(headercache.message_header, view.folder, uid)
    if name.upper() in headercache.SEARCH_FIELDS:
        return headercache.search_fields(view.folder, uid, header)
    return headercache.header_fields(view.folder, uid, (name,), header)


def _folded_values(
    view: SelectedView, kind: str, name: str, uid: int, header: Callable[[], bytes] | None = None
) -> list[str]:
    """The decoded values of the message's ``name`` fields (``kind`` "addresses": the
    addresses in them), case-folded (``mail.contains``'s comparison), remembered by the
    session view: a second SEARCH in the session decodes nothing again."""
    key = (kind, name.upper(), uid)
    values = view.memo.get(key)
    if values is None:
        values = view.memo[key] = _fold(kind, name, _field_block(view, uid, name, header))
    return values


def _fold(kind: str, name: str, block: bytes) -> list[str]:
    if kind == "addresses":
        return [v.casefold() for v in mail.addresses(block, name)]
    return [decode_header_value(v).casefold() for v in headercache.field_values(block, name)]


def _header_test(view: SelectedView, key: k.Text) -> Test:
    """A SUBJECT, FROM/TO/CC/BCC or HEADER key over the cached header fields: the second
    search in a session compares remembered values only."""
    if key.name in _ADDRESS_HEADERS:
        kind, name = "addresses", _ADDRESS_HEADERS[key.name]
    else:
        kind, name = "text", key.field if key.name == "HEADER" else "Subject"
    needle, upper, memo = key.value.casefold(), name.upper(), view.memo
    get_cached = view.folder.get_cached
    cached = headercache.SEARCH_KEY if upper in headercache.SEARCH_FIELDS else None

    def block_of(uid: int) -> bytes:
        block = get_cached(uid, cached) if cached is not None else None
        return _field_block(view, uid, name) if block is None else block

    def test(seq: int, uid: int, block: bytes | None = None) -> bool:
        values = memo.get((kind, upper, uid))
        if values is None:
            block = block_of(uid) if block is None else block
            values = memo[kind, upper, uid] = _fold(kind, name, block)
        for value in values:  # noqa: SIM110 (any() of a generator costs twice this loop)
            if needle in value:  # HEADER field "" matches every message having the field
                return True
        return False

    if kind != "text" or not needle or not needle.isascii() or "\r" in needle or "\n" in needle:
        return test
    # Text fields: most messages are ruled out by their lower-cased block, kept per view.
    plain = needle.encode("ascii")
    blocks = _plain_blocks(view, cached or upper)

    def ruled_out_first(seq: int, uid: int) -> bool:
        found, block = blocks.get(uid, _UNKNOWN), None
        if found is _UNKNOWN:
            block = block_of(uid)
            found = blocks[uid] = _plain_block(block)
        if found is not None and plain not in found:
            return False
        return test(seq, uid, block)

    return ruled_out_first


_UNKNOWN = b"\x00unknown"


def _plain_blocks(view: SelectedView, which: str) -> dict[int, bytes | None]:
    return view.plain_blocks.setdefault(which, {})


def _plain_block(block: bytes) -> bytes | None:
    """For a block whose decoded field values are its own ASCII text: the block lower-cased
    (ASCII case folding) without line breaks, which holds every value's folded text (and
    more), so that an ASCII needle it lacks is in none of them; None for other blocks
    (8-bit text or encoded words), whose values have to be decoded."""
    if not block.isascii() or b"=?" in block:
        return None
    return block.lower().replace(b"\r\n", b"").replace(b"\n", b"")


def _flag_test(view: SelectedView, flag: str, wanted: bool) -> Test:
    infos = view.infos
    return lambda seq, uid: (flag in infos[uid].flags) == wanted


def _compile(view: SelectedView, key: k.SearchKey) -> Test | None:
    """``matches`` for one command, worked out once instead of per message; None when a
    key reads message content (BODY, TEXT), which ``matches`` reads once per message for
    all such keys."""
    if isinstance(key, k.And):
        tests = [_compile(view, sub) for sub in key.keys]
        if any(t is None for t in tests):
            return None
        ready = [t for t in tests if t is not None and t is not _always]
        if not ready:
            return _always
        if len(ready) == 1:
            return ready[0]
        return lambda seq, uid: all(t(seq, uid) for t in ready)
    if isinstance(key, k.Or):
        left, right = _compile(view, key.left), _compile(view, key.right)
        if left is None or right is None:
            return None
        return lambda seq, uid: left(seq, uid) or right(seq, uid)
    if isinstance(key, k.Not):
        inner = _compile(view, key.key)
        if inner is None:
            return None
        return lambda seq, uid: not inner(seq, uid)
    if isinstance(key, k.Simple):
        if key.name == "ALL":
            return _always
        if key.name in _FLAG_KEYS:
            return _flag_test(view, *_FLAG_KEYS[key.name])
    if isinstance(key, k.Keyword):
        return _flag_test(view, key.flag, key.name == "KEYWORD")
    if isinstance(key, k.Text):
        if key.name in _ADDRESS_HEADERS or key.name in ("SUBJECT", "HEADER"):
            return _header_test(view, key)
        return None
    # The rest read only the index (or the cached Date field): as ``matches`` does.
    return lambda seq, uid: matches(key, _Candidate(view, seq, uid))


def search(view: SelectedView, key: k.SearchKey, *, uid: bool) -> list[int]:
    """Sequence numbers (or UIDs) of the matching messages, ascending.

    A message another session expunged while the search read it matches nothing: the
    search goes on (as Dovecot's does) instead of failing for the messages that remain."""
    expunged = view.expunged
    test = _compile(view, key)
    if test is _always:  # SORT and THREAD over ALL
        return [
            msg_uid if uid else seq
            for seq, msg_uid in enumerate(view.uids, 1)
            if msg_uid not in expunged
        ]
    if test is None:
        test = functools.partial(_content_test, view, key)
    found: list[int] = []
    for seq, msg_uid in enumerate(view.uids, 1):
        if msg_uid in expunged:
            continue
        try:
            matched = test(seq, msg_uid)
        except MessageNotFound:
            continue
        if matched:
            found.append(msg_uid if uid else seq)
    return found


def _content_test(view: SelectedView, key: k.SearchKey, seq: int, uid: int) -> bool:
    return matches(key, _Candidate(view, seq, uid))
