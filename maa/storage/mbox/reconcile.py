"""Matching what an mbox file holds against what the index says it held.

Another program may append to the file (Postfix's local(8), procmail, formail) or rewrite it
(mutt, or our own expunge interrupted between the rename and the index commit). Messages are
recognized by a hash of their bytes, so a message keeps its UID and flags wherever it moved;
failing that, by a hash blind to the status headers mail readers rewrite (mutt marking a
message read rewrites its ``Status:``), so it keeps its UID, gains the flags those headers
give and is re-measured. A message the index never saw gets a new UID; an indexed message no
longer in the file is expunged.

The first time a folder is indexed, Dovecot's headers are honoured, so an mbox Dovecot
wrote keeps its UIDVALIDITY, UIDs and flags: ``X-IMAPbase: <uidvalidity> <last uid> [kw...]``
(or Dovecot's internal first message with ``X-IMAP:``), ``X-UID:``, ``Status:`` (``R`` seen),
``X-Status:`` (``A`` answered, ``F`` flagged, ``T`` draft, ``D`` deleted) and ``X-Keywords:``.
They are read, never written: of Dovecot's headers, maa writes only Content-Length.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

from maa.storage.interface import ANSWERED, DELETED, DRAFT, FLAGGED, SEEN
from maa.storage.mbox.format import ScannedMessage
from maa.storage.mbox.index import Record

_X_STATUS_FLAGS = {"A": ANSWERED, "F": FLAGGED, "T": DRAFT, "D": DELETED}


@dataclass
class Reconciled:
    records: dict[int, Record]  # the folder's messages now, ascending UID
    added: list[Record] = field(default_factory=list)
    moved: list[Record] = field(default_factory=list)  # same message, new offsets
    rewritten: list[Record] = field(default_factory=list)  # status headers changed
    removed: list[int] = field(default_factory=list)
    uidnext: int = 1
    highestmodseq: int = 1
    uidvalidity: int | None = None  # set when a Dovecot header gave it


def flags_from_headers(headers: dict[str, str]) -> frozenset[str]:
    flags: set[str] = set()
    if "R" in headers.get("status", ""):
        flags.add(SEEN)
    for letter in headers.get("x-status", ""):
        if letter in _X_STATUS_FLAGS:
            flags.add(_X_STATUS_FLAGS[letter])
    for keyword in headers.get("x-keywords", "").replace(",", " ").split():
        if not keyword.startswith("\\"):
            flags.add(keyword)
    return frozenset(flags)


def _dovecot_base(first: ScannedMessage) -> tuple[int | None, int | None]:
    """(UIDVALIDITY, UIDNEXT) from ``X-IMAPbase:`` or ``X-IMAP:`` in the first message, which
    give UIDVALIDITY and the last UID used."""
    text = first.headers.get("x-imapbase") or first.headers.get("x-imap")
    if not text:
        return None, None
    parts = text.split()
    try:
        return int(parts[0]), int(parts[1]) + 1
    except (IndexError, ValueError):
        return None, None


def reconcile(
    old: dict[int, Record],
    scanned: list[ScannedMessage],
    *,
    whole_file: bool,
    uidnext: int,
    highestmodseq: int,
    fallback_date: float,
) -> Reconciled:
    """The index's new view. ``whole_file`` False means ``scanned`` only covers what was
    appended after the indexed part, which is then kept as it is."""
    importing = whole_file and not old and uidnext == 1
    uidvalidity = base_next = None
    if importing and scanned:
        uidvalidity, base_next = _dovecot_base(scanned[0])
        if "x-imap" in scanned[0].headers and "x-imapbase" not in scanned[0].headers:
            scanned = scanned[1:]  # Dovecot's "DON'T DELETE THIS MESSAGE" folder data

    result = Reconciled(records={}, uidnext=uidnext, highestmodseq=highestmodseq)
    result.uidvalidity = uidvalidity
    fresh: list[ScannedMessage] = []
    if whole_file:
        unclaimed: dict[bytes, deque[Record]] = {}
        for record in old.values():
            unclaimed.setdefault(record.fingerprint, deque()).append(record)
        kept: dict[int, Record] = {}
        for message in scanned:
            queue = unclaimed.get(message.fingerprint)
            if not queue:
                fresh.append(message)
                continue
            record = queue.popleft()
            if (record.from_offset, record.body_offset, record.body_end) != (
                message.from_offset,
                message.body_offset,
                message.body_end,
            ):
                record = replace(
                    record,
                    from_offset=message.from_offset,
                    body_offset=message.body_offset,
                    body_end=message.body_end,
                )
                result.moved.append(record)
            kept[record.uid] = record
        fresh = _match_rewritten(fresh, unclaimed, kept, result)
        result.removed = sorted(uid for uid in old if uid not in kept)
    else:
        kept = dict(old)
        fresh = scanned

    modseq = highestmodseq + 1 if (fresh or result.removed or result.rewritten) else highestmodseq
    result.rewritten = [replace(record, modseq=modseq) for record in result.rewritten]
    kept.update((record.uid, record) for record in result.rewritten)
    next_uid = max(uidnext, 1)
    for message in fresh:
        uid = None
        if importing and "x-uid" in message.headers:
            try:
                claimed = int(message.headers["x-uid"])
            except ValueError:
                claimed = 0
            if claimed >= next_uid and (base_next is None or claimed < base_next):
                uid = claimed
        if uid is None:
            uid = max(next_uid, base_next or 0)
        next_uid = uid + 1
        record = Record(
            uid=uid,
            from_offset=message.from_offset,
            body_offset=message.body_offset,
            body_end=message.body_end,
            size=message.size,
            fingerprint=message.fingerprint,
            loose=message.loose,
            flags=flags_from_headers(message.headers),
            internal_date=message.internal_date or fallback_date,
            modseq=modseq,
        )
        result.added.append(record)
        kept[uid] = record
    if importing and base_next is not None:
        next_uid = max(next_uid, base_next)
    result.uidnext = next_uid
    result.highestmodseq = modseq
    result.records = dict(sorted(kept.items()))
    return result


def _match_rewritten(
    fresh: list[ScannedMessage],
    unclaimed: dict[bytes, deque[Record]],
    kept: dict[int, Record],
    result: Reconciled,
) -> list[ScannedMessage]:
    """Pair messages no exact hash matched by their loose hash; returns those still unpaired."""
    by_loose: dict[bytes, deque[Record]] = {}
    for leftovers in unclaimed.values():
        for record in leftovers:
            by_loose.setdefault(record.loose, deque()).append(record)
    unpaired = []
    for message in fresh:
        queue = by_loose.get(message.loose)
        if not queue:
            unpaired.append(message)
            continue
        record = queue.popleft()
        rewritten = replace(
            record,
            from_offset=message.from_offset,
            body_offset=message.body_offset,
            body_end=message.body_end,
            size=message.size,
            fingerprint=message.fingerprint,
            flags=record.flags | flags_from_headers(message.headers),
        )
        result.rewritten.append(rewritten)
        kept[record.uid] = rewritten
    return unpaired
