"""One session's view of its selected folder (pymap's ``selected.py``).

Storage knows UIDs only; the view keeps this session's sequence-number to UID map, the flags
it has told the client, and which messages vanished from storage but were not yet reported.
``sync`` turns storage changes into untagged EXISTS / EXPUNGE / FETCH lines, holding EXPUNGE
back when RFC 3501 7.4.1 forbids it (during FETCH, STORE and SEARCH by sequence number).

Once the client enabled CONDSTORE (RFC 7162) every FETCH carrying FLAGS carries MODSEQ too;
once it enabled QRESYNC, removals are told as ``* VANISHED uids`` instead of EXPUNGE.
"""

from __future__ import annotations

import bisect
import itertools
import operator
from collections.abc import Callable, Iterable, Sequence

from maa.imap.sortdata import SortData
from maa.proto.imap import response
from maa.proto.imap.esearch import sequence_set
from maa.proto.imap.sequence import SequenceSet
from maa.storage.interface import Folder, MessageInfo

RECENT = frozenset({"\\Recent"})
SYSTEM_FLAGS_LINE = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
_SYSTEM_FLAGS_FOLDED = frozenset(f.lower() for f in SYSTEM_FLAGS_LINE)


def unknown_system_flag(flags: Iterable[str]) -> str | None:
    """The first ``\\Name`` that is no system flag; the names match in any case
    (``\\seen`` is ``\\Seen``, as in RFC 3501's grammar and Dovecot)."""
    return next(
        (f for f in flags if f.startswith("\\") and f.lower() not in _SYSTEM_FLAGS_FOLDED), None
    )


class SelectedView:
    def __init__(
        self,
        folder: Folder,
        *,
        readonly: bool,
        on_change: Callable[[], None],
        condstore: bool = False,
        qresync: bool = False,
    ) -> None:
        self.folder = folder
        self.readonly = readonly
        self.condstore = condstore or qresync  # MODSEQ in every FETCH with FLAGS
        self.qresync = qresync  # VANISHED instead of EXPUNGE
        # The one storage sync of SELECT; from here on the session syncs once per command
        # (``sync``), and the folder answers from that in between.
        folder.refresh()
        status = folder.status()
        infos = folder.messages()
        # Copies of the ones built for the last view of the same messages (a SELECT of a
        # 100,000-message folder built both, and its keywords, for every session).
        uids, by_uid, keywords = _numbering(infos)
        self.uids: list[int] = list(uids)
        self.infos: dict[int, MessageInfo] = by_uid.copy()
        # EXAMINE must not take \Recent away from a session that will SELECT later.
        self.recent: set[int] = set() if readonly else set(folder.claim_recent())
        self.expunged: set[int] = set()  # gone from storage, EXPUNGE not yet sent
        self.uidvalidity = status.uidvalidity
        self.uidnext = status.uidnext
        self.highestmodseq = status.highestmodseq
        self._seen_modseq = status.highestmodseq
        self._seen_count = status.messages
        self.keywords: set[str] = set(keywords)
        self._announced = frozenset(self.keywords)  # the keywords FLAGS last listed
        # Decoded header values SEARCH has looked at, per (kind, field, UID): a second search
        # in the session decodes nothing again. A message's header never changes.
        self.memo: dict[tuple[str, str, int], list[str]] = {}
        # SORT/THREAD keys per UID, decoded once per session from the folder cache.
        self.sortmemo: dict[int, SortData] = {}
        # Per cached block, each message's block as SEARCH rules messages out by it (see
        # ``search._plain_block``); and the last THREAD answer with what it was asked of.
        self.plain_blocks: dict[str, dict[int, bytes | None]] = {}
        self.last_thread: tuple[tuple[str, bool], list[tuple[int, int]], bytes] | None = None
        # Messages whose flag change was taken in before a command and not yet told: the
        # command may tell it itself (FETCH FLAGS, STORE); the sync after it tells the rest.
        self.untold: set[int] = set()
        self._dirty = False
        self._on_change = on_change
        self._unwatch = folder.watch(on_change)

    def close(self) -> None:
        self._unwatch()

    def reopen(self, folder: Folder) -> bool:
        """Go on with ``folder`` (the selected folder's object after a RENAME): the next
        sync compares it with what this view holds. False when its UIDVALIDITY is not
        the one this view told, so its UIDs are not those the client knows."""
        self._unwatch()
        self.folder = folder
        self._unwatch = folder.watch(self._on_change)
        self._dirty = True
        return folder.status().uidvalidity == self.uidvalidity

    def mark_dirty(self) -> None:
        self._dirty = True

    # -- numbering ----------------------------------------------------------------------------

    @property
    def exists(self) -> int:
        return len(self.uids)

    def seq_of(self, uid: int) -> int:
        index = bisect.bisect_left(self.uids, uid)
        if index < len(self.uids) and self.uids[index] == uid:
            return index + 1
        raise KeyError(uid)

    def numbered(self, uids: list[int]) -> list[tuple[int, int]]:
        """(sequence number, UID) of ``uids``, ascending UIDs this view holds: what SEARCH,
        SORT and THREAD found, often every message (ALL), which needs no lookup at all."""
        held = self.uids
        if uids == held:
            return list(zip(range(1, len(held) + 1), held, strict=True))
        found = []
        at = 0
        for uid in uids:
            at = bisect.bisect_left(held, uid, at)
            if at == len(held) or held[at] != uid:
                raise KeyError(uid)
            found.append((at + 1, uid))
        return found

    def resolve(self, sequence: SequenceSet, *, uid: bool) -> list[tuple[int, int]]:
        """(sequence number, UID) of each message the set names, ascending."""
        if not self.uids:
            return []
        if uid:
            # "*" is the largest UID in use, so "n:*" names the last message even when n is
            # above it (RFC 3501 6.4.8): resolve() turns "n:last" around.
            spans = list(sequence.resolve(self.uids[-1]))
            if len(spans) == 1:  # "1:*" and kin: positions give the sequence numbers
                low, high = spans[0]
                start = bisect.bisect_left(self.uids, low)
                end = bisect.bisect_right(self.uids, high)
                return list(zip(range(start + 1, end + 1), self.uids[start:end], strict=True))
            chosen = sequence.select(self.uids)
            return [(self.seq_of(u), u) for u in chosen]
        numbers = sequence.select(list(range(1, len(self.uids) + 1)))
        return [(n, self.uids[n - 1]) for n in numbers]

    def changed_since(
        self, sequence: SequenceSet, since: int, *, uid: bool
    ) -> list[tuple[int, int]]:
        """``resolve`` narrowed to messages with a MODSEQ above ``since`` (FETCH CHANGEDSINCE),
        found from the changed ones: a resync names 1:* and wants the few that changed."""
        if since >= self.highestmodseq or not self.uids:
            return []
        changed = sorted(u for u, info in self.infos.items() if info.modseq > since)
        largest = self.uids[-1] if uid else len(self.uids)
        ranges = list(sequence.resolve(largest))
        found = []
        for u in changed:
            seq = self.seq_of(u)
            value = u if uid else seq
            if any(low <= value <= high for low, high in ranges):
                found.append((seq, u))
        return found

    def valid_sequence(self, sequence: SequenceSet) -> bool:
        """RFC 3501: a sequence number above the number of messages is an error."""
        largest = len(self.uids)
        if largest == 0:  # "1:*" on an empty mailbox names nothing, and is no error
            return all(None in r for r in sequence.ranges)
        return all(high <= largest and low >= 1 for low, high in sequence.resolve(largest))

    def flags_item(self, uid: int) -> bytes:
        """``FLAGS (...)`` of a FETCH response: the client now knows the message's flags."""
        self.untold.discard(uid)
        return b"FLAGS " + response.flag_list(self.flags_of(uid))

    def flags_of(self, uid: int) -> frozenset[str]:
        flags = self.infos[uid].flags
        return flags | RECENT if uid in self.recent else flags

    def flags_line(self) -> bytes:
        return response.flag_list(list(SYSTEM_FLAGS_LINE) + sorted(self.keywords))

    def flags_responses(self) -> list[bytes]:
        """``* FLAGS`` and ``* OK [PERMANENTFLAGS]``, as SELECT sends them."""
        self._announced = frozenset(self.keywords)
        if self.readonly:
            permanent = b"* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n"
        else:
            permanent = (
                b"* OK [PERMANENTFLAGS %s \\*)] Flags permitted.\r\n" % (self.flags_line()[:-1])
            )
        return [b"* FLAGS " + self.flags_line() + b"\r\n", permanent]

    def new_flags(self) -> list[bytes]:
        """The FLAGS responses again when a keyword came into use since they were last
        sent (RFC 3501 7.2.6: the client must record the new list), else nothing."""
        if self.keywords <= self._announced:
            return []
        return self.flags_responses()

    def flags_fetch(self, seq: int, uid: int, *, with_uid: bool, flags: bool = True) -> bytes:
        """``* n FETCH (UID u FLAGS (...) MODSEQ (m))`` telling a flag change. With QRESYNC
        these always name the UID (as Dovecot's do), since the client keys on UIDs then."""
        if flags and not (with_uid or self.qresync or self.condstore):
            # The common line, made directly: a STORE over a folder tells every message.
            self.untold.discard(uid)
            return b"* %d FETCH (FLAGS %s)\r\n" % (seq, response.flag_list(self.flags_of(uid)))
        parts = [b"UID %d" % uid] if with_uid or self.qresync else []
        if flags:
            self.untold.discard(uid)
            parts.append(b"FLAGS " + response.flag_list(self.flags_of(uid)))
        if self.condstore:
            parts.append(b"MODSEQ (%d)" % self.infos[uid].modseq)
        return b"* %d FETCH (%s)\r\n" % (seq, b" ".join(parts))

    # -- own changes --------------------------------------------------------------------------

    def update(self, infos: list[MessageInfo]) -> None:
        known = self.infos
        flag_sets: set[frozenset[str]] = set()  # a STORE over 10,000 messages makes a few
        for info in infos:
            if info.uid in known:
                known[info.uid] = info
                flag_sets.add(info.flags)
        for flags in flag_sets:
            self.keywords.update(_keywords_in(flags))

    def remove(self, uids: list[int]) -> list[bytes]:
        """EXPUNGE lines for removed messages (highest sequence number first, as each one
        renumbers those above it), or one VANISHED line once QRESYNC is enabled."""
        lines: list[bytes] = []
        gone: list[int] = []
        for uid in sorted(uids, reverse=True):
            try:
                seq = self.seq_of(uid)
            except KeyError:
                continue
            lines.append(b"* %d EXPUNGE\r\n" % seq)
            gone.append(uid)
            del self.uids[seq - 1]
            self.infos.pop(uid, None)
            self.recent.discard(uid)
            self.expunged.discard(uid)
            self.untold.discard(uid)
        if self.qresync:
            return [b"* VANISHED %s\r\n" % sequence_set(gone[::-1]).encode()] if gone else []
        return lines

    # -- other sessions' changes ----------------------------------------------------------------

    def sync(
        self,
        *,
        allow_expunge: bool,
        with_uid: bool = False,
        refresh: bool = True,
        hold_flags: bool = False,
    ) -> list[bytes]:
        """Untagged lines for what changed since the last sync. Without ``refresh`` only
        what this process's index already holds is looked at (the command's own changes,
        other sessions here), not what other processes did to the files. With
        ``hold_flags`` flag changes are taken in but told later (``untold``)."""
        if refresh:
            self.folder.refresh()
        status = self.folder.status()
        lines: list[bytes] = []
        if (
            self._dirty
            or status.highestmodseq != self._seen_modseq
            or status.messages != self._seen_count
        ):
            self._dirty = False
            since = self._seen_modseq
            self._seen_modseq = status.highestmodseq
            self._seen_count = status.messages
            self.uidnext = status.uidnext
            self.highestmodseq = status.highestmodseq
            diff = self._diff(with_uid, since, hold_flags)
            lines.extend(self.new_flags())
            lines.extend(diff)
        if self.untold and not hold_flags:
            for uid in sorted(self.untold):
                if uid in self.infos:
                    lines.append(self.flags_fetch(self.seq_of(uid), uid, with_uid=with_uid))
            self.untold.clear()
        if allow_expunge and self.expunged:
            lines.extend(self.remove(sorted(self.expunged)))
        return lines

    def _compare(
        self, info: MessageInfo, seq: int | None, with_uid: bool, lines: list[bytes], hold: bool
    ) -> None:
        """Take ``info`` as the message's state; a FETCH line (now, or later when ``hold``)
        if its flags (or, with CONDSTORE, its MODSEQ) changed from what the client was told.
        ``seq`` None: looked up only then (after this session's own STORE, nothing differs)."""
        old = self.infos[info.uid]
        self.infos[info.uid] = info
        if info.flags != old.flags or (self.condstore and info.modseq != old.modseq):
            self.keywords.update(_keywords_in(info.flags))
            if hold:
                self.untold.add(info.uid)
            else:
                number = self.seq_of(info.uid) if seq is None else seq
                lines.append(self.flags_fetch(number, info.uid, with_uid=with_uid))

    def _diff(self, with_uid: bool, since: int, hold: bool) -> list[bytes]:
        lines: list[bytes] = []
        infos = self.folder.messages()
        last = self.uids[-1] if self.uids else 0
        known = bisect.bisect_right(infos, last, key=_uid_of)
        # Every change raises MODSEQ: when all of this view's messages are still there (as
        # many as it holds below ``last``, none unknown among the changed), only those with
        # a MODSEQ above the last one seen need a look, not the whole folder.
        # And when the folder says none of them changed since (only new messages came, as
        # after a delivery), not even that: a session IDLE on a large folder would look at
        # every message for each delivery.
        complete = known == len(self.uids) - len(self.expunged)
        if complete and not self.folder.touched_since(since):
            changed: list[MessageInfo] = []
        else:
            changed = [i for i in itertools.islice(infos, known) if i.modseq > since]
        if complete and all(i.uid in self.infos and i.uid not in self.expunged for i in changed):
            for info in changed:
                self._compare(info, None, with_uid, lines, hold)
        else:
            current = {i.uid: i for i in infos}
            for seq, uid in enumerate(self.uids, 1):
                now = current.get(uid)
                if now is None:
                    self.expunged.add(uid)
                else:
                    self._compare(now, seq, with_uid, lines, hold)
        new = infos[known:]
        if new:
            recent = set() if self.readonly else self.folder.claim_recent()
            for info in new:
                self.uids.append(info.uid)
                self.infos[info.uid] = info
                if info.uid in recent:
                    self.recent.add(info.uid)
            lines.append(b"* %d EXISTS\r\n" % len(self.uids))
            lines.append(b"* %d RECENT\r\n" % len(self.recent))
        return lines


_uid_of = operator.attrgetter("uid")


# The last few large message lists views were made from, with what each view starts from:
# a folder hands every session the same tuple until it changes. (A few: each holds its list
# alive, some megabytes for a 100,000-message folder.)
_NUMBERINGS: dict[
    int, tuple[Sequence[MessageInfo], list[int], dict[int, MessageInfo], frozenset[str]]
] = {}
_NUMBERINGS_KEPT = 4
_NUMBERING_FROM = 2000  # messages; a smaller folder's is quicker built than kept


def _numbering(
    infos: Sequence[MessageInfo],
) -> tuple[list[int], dict[int, MessageInfo], frozenset[str]]:
    """UIDs, messages by UID and keywords of ``infos``, built by C loops, shared (not to be
    changed: views copy them) while the same list object is asked about again."""
    kept = _NUMBERINGS.get(id(infos))
    if kept is not None and kept[0] is infos:
        return kept[1], kept[2], kept[3]
    uids = list(map(_uid_of, infos))
    by_uid = dict(zip(uids, infos, strict=True))
    keywords = frozenset(f for flags in set(map(_flags_of, infos)) for f in _keywords_in(flags))
    if len(infos) < _NUMBERING_FROM:
        return uids, by_uid, keywords
    if len(_NUMBERINGS) >= _NUMBERINGS_KEPT:
        del _NUMBERINGS[next(iter(_NUMBERINGS))]
    _NUMBERINGS[id(infos)] = (infos, uids, by_uid, keywords)
    return uids, by_uid, keywords


_flags_of = operator.attrgetter("flags")


def _keywords_in(flags: frozenset[str]) -> list[str]:
    return [f for f in flags if not f.startswith("\\")]
