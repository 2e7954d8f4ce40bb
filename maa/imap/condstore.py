"""QRESYNC resynchronisation (RFC 7162 3.2.5 and 3.2.6): what a client that remembers a
folder's UIDVALIDITY and MODSEQ has missed since.

Storage keeps every expunged UID with the MODSEQ of its expunge (``Folder.vanished_since``)
and a MODSEQ on every message, so the answer is exact: the sequence-match data a client may
send to help servers with a shorter memory is not needed and is ignored (RFC 7162 allows it).
"""

from __future__ import annotations

from maa.imap.selected import SelectedView
from maa.proto.imap.esearch import sequence_set
from maa.proto.imap.modifiers import Qresync
from maa.proto.imap.sequence import SequenceSet


def vanished_earlier(uids: list[int]) -> list[bytes]:
    """``* VANISHED (EARLIER) 41,43:116``; nothing for no UIDs."""
    if not uids:
        return []
    return [b"* VANISHED (EARLIER) %s\r\n" % sequence_set(uids).encode()]


def vanished_in(view: SelectedView, modseq: int, within: SequenceSet | None) -> list[int]:
    """UIDs expunged after ``modseq``, restricted to the UID set ``within`` when given
    ("*" there stands for the largest UID the folder has used)."""
    gone = view.folder.vanished_since(modseq)
    if within is None or not gone:
        return gone
    largest = max(view.uidnext - 1, gone[-1])
    return [uid for uid in gone if within.contains(uid, largest)]


def qresync_lines(view: SelectedView, params: Qresync) -> list[bytes]:
    """The VANISHED (EARLIER) and FETCH lines a ``SELECT ... (QRESYNC (...))`` answers with,
    or nothing when the client's UIDVALIDITY is not the folder's (it must then resync
    from scratch)."""
    if params.uidvalidity != view.uidvalidity:
        return []
    known = params.known_uids
    lines = vanished_earlier(vanished_in(view, params.modseq, known))
    largest = view.uids[-1] if view.uids else 0
    for seq, uid in enumerate(view.uids, 1):
        if view.infos[uid].modseq <= params.modseq:
            continue
        if known is not None and not known.contains(uid, largest):
            continue
        lines.append(view.flags_fetch(seq, uid, with_uid=True))
    return lines
