"""SEARCH: evaluate a key tree against each message, reading content only for the keys that
need it (flags, sizes, dates and sets come from the index)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from maa import mail
from maa.imap import headercache
from maa.imap.selected import SelectedView
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
            with self.view.folder.open(self.uid) as stream:
                self._header = headercache.read_header(stream)
        return self._header

    def fields(self, name: str) -> bytes:
        """Just the ``name`` fields, from the folder cache when there."""
        if name.upper() in headercache.SEARCH_FIELDS:
            return headercache.search_fields(self.view.folder, self.uid, self.header)
        return headercache.header_fields(self.view.folder, self.uid, (name,), self.header)

    def decoded(self, kind: str, name: str) -> list[str]:
        """Decoded field values (``kind`` "addresses" or "text"), remembered by the session
        view: a second SEARCH in the session decodes nothing again."""
        key = (kind, name.upper(), self.uid)
        values = self.view.memo.get(key)
        if values is None:
            block = self.fields(name)
            if kind == "addresses":
                values = mail.addresses(block, name)
            else:
                values = mail.decoded_header(block, name)
            self.view.memo[key] = values
        return values

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
        found = c.decoded("addresses", name)
        return any(mail.contains(v, key.value) for v in found)
    if key.name in ("SUBJECT", "HEADER"):
        name = key.field if key.name == "HEADER" else "Subject"
        values = c.decoded("text", name)
        if not key.value:  # HEADER field "" matches every message having the field
            return bool(values)
        return any(mail.contains(v, key.value) for v in values)
    raw = c.raw()
    body = mail.search_text(raw, mail.MessageParts.parse(raw))
    if key.name == "BODY":
        return mail.contains(body, key.value)
    headers = c.header().decode("utf-8", "replace")
    return mail.contains(headers, key.value) or mail.contains(body, key.value)


def search(view: SelectedView, key: k.SearchKey, *, uid: bool) -> list[int]:
    """Sequence numbers (or UIDs) of the matching messages, ascending.

    A message another session expunged while the search read it matches nothing: the
    search goes on (as Dovecot's does) instead of failing for the messages that remain."""
    found: list[int] = []
    for seq, msg_uid in enumerate(view.uids, 1):
        if msg_uid in view.expunged:
            continue
        try:
            matched = matches(key, _Candidate(view, seq, msg_uid))
        except MessageNotFound:
            continue
        if matched:
            found.append(msg_uid if uid else seq)
    return found
