"""Command modifiers of the synchronisation extensions (RFC 4466 syntax):

- SELECT/EXAMINE parameters ``(CONDSTORE)`` and ``(QRESYNC (uidvalidity modseq [known-uids
  [(seq-match)]]))`` (RFC 7162 3.1.8, 3.2.5);
- FETCH modifiers ``(CHANGEDSINCE m [VANISHED])`` (RFC 7162 3.1.4, 3.2.6);
- STORE modifier ``(UNCHANGEDSINCE m)`` (RFC 7162 3.1.3);
- SEARCH ``RETURN (MIN MAX ALL COUNT)`` (RFC 4731) and the ``MODSEQ`` search key.
"""

from __future__ import annotations

from dataclasses import dataclass

from maa.proto.imap.cursor import Cursor, ParseError
from maa.proto.imap.sequence import SequenceSet

# RFC 7162 section 7: mod-sequence-value is at most 2^63 - 1 (a signed 64-bit integer).
MAX_MODSEQ = 2**63 - 1
_DIGITS = frozenset(b"0123456789")


def mod_sequence(c: Cursor, *, zero: bool = False) -> int:
    """``mod-sequence-value`` (``zero``: ``mod-sequence-valzer``, which admits 0)."""
    digits = c._run(_DIGITS)
    if not digits or len(digits) > 19:
        raise ParseError("Expected a mod-sequence value")
    value = int(digits)
    if value > MAX_MODSEQ or (value == 0 and not zero):
        raise ParseError("Invalid mod-sequence value")
    return value


# -- SELECT / EXAMINE ------------------------------------------------------------------------


@dataclass(frozen=True)
class Qresync:
    """The client's memory of the folder: ``known_uids`` of the UIDs it holds (all UIDs
    when absent), and ``seq_match`` pairs of sequence numbers and their UIDs."""

    uidvalidity: int
    modseq: int
    known_uids: SequenceSet | None = None
    seq_match: tuple[SequenceSet, SequenceSet] | None = None


@dataclass(frozen=True)
class SelectParams:
    condstore: bool = False
    qresync: Qresync | None = None


def parse_select_params(c: Cursor) -> SelectParams:
    """``(select-param *(SP select-param))`` after SELECT's mailbox and its space."""
    c.expect(b"(")
    condstore = False
    qresync: Qresync | None = None
    first = True
    while not c.maybe(b")"):
        if not first:
            c.sp()
        first = False
        name = c.atom().upper()
        if name == "CONDSTORE" and not condstore:
            condstore = True
        elif name == "QRESYNC" and qresync is None:
            c.sp()
            qresync = _qresync(c)
        else:
            raise ParseError(f"Unknown or repeated SELECT parameter {name}")
    if first:
        raise ParseError("Empty SELECT parameter list")
    return SelectParams(condstore, qresync)


def _qresync(c: Cursor) -> Qresync:
    c.expect(b"(")
    uidvalidity = c.nz_number()
    c.sp()
    modseq = mod_sequence(c)
    known: SequenceSet | None = None
    seq_match: tuple[SequenceSet, SequenceSet] | None = None
    if c.maybe_sp():
        if c.peek() != ord("("):
            known = SequenceSet.parse(c)
            if known.saved:
                raise ParseError("$ is not a UID set")
            if not c.maybe_sp():
                c.expect(b")")
                return Qresync(uidvalidity, modseq, known)
        c.expect(b"(")
        seqs = SequenceSet.parse(c)
        c.sp()
        uids = SequenceSet.parse(c)
        c.expect(b")")
        if seqs.saved or uids.saved:
            raise ParseError("$ is not a sequence set")
        seq_match = (seqs, uids)
    c.expect(b")")
    return Qresync(uidvalidity, modseq, known, seq_match)


# -- FETCH / STORE ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchModifiers:
    changed_since: int | None = None
    vanished: bool = False


def parse_fetch_modifiers(c: Cursor) -> FetchModifiers:
    """``(CHANGEDSINCE m [VANISHED])`` in either order; VANISHED needs CHANGEDSINCE."""
    c.expect(b"(")
    changed_since: int | None = None
    vanished = False
    first = True
    while not c.maybe(b")"):
        if not first:
            c.sp()
        first = False
        name = c.atom().upper()
        if name == "CHANGEDSINCE" and changed_since is None:
            c.sp()
            changed_since = mod_sequence(c)
        elif name == "VANISHED" and not vanished:
            vanished = True
        else:
            raise ParseError(f"Unknown or repeated FETCH modifier {name}")
    if first:
        raise ParseError("Empty FETCH modifier list")
    if vanished and changed_since is None:
        raise ParseError("VANISHED requires CHANGEDSINCE")
    return FetchModifiers(changed_since, vanished)


def parse_store_modifiers(c: Cursor) -> int:
    """``(UNCHANGEDSINCE m)``: the value (0 is allowed and fails every message)."""
    c.expect(b"(")
    name = c.atom().upper()
    if name != "UNCHANGEDSINCE":
        raise ParseError(f"Unknown STORE modifier {name}")
    c.sp()
    value = mod_sequence(c, zero=True)
    c.expect(b")")
    return value


# -- SEARCH ----------------------------------------------------------------------------------

RETURN_OPTIONS = ("MIN", "MAX", "ALL", "COUNT")


def parse_search_return(c: Cursor) -> tuple[str, ...]:
    """``RETURN (opt *(SP opt))`` after SEARCH's space; ``RETURN ()`` means ALL."""
    c.expect(b"(")
    options: list[str] = []
    while not c.maybe(b")"):
        if options:
            c.sp()
        name = c.atom().upper()
        if name not in RETURN_OPTIONS:
            raise ParseError(f"Unknown SEARCH return option {name}")
        if name not in options:
            options.append(name)
    return tuple(options) or ("ALL",)


@dataclass(frozen=True)
class ModSeq:
    """The ``MODSEQ [entry-name entry-type] n`` search key: messages with a MODSEQ of at
    least ``modseq``. Entry names are accepted and mean the whole message, as every flag
    change raises the message's one MODSEQ (RFC 7162 3.1.5 allows this)."""

    modseq: int


_ENTRY_TYPES = frozenset({"PRIV", "SHARED", "ALL"})


def parse_modseq_key(c: Cursor) -> ModSeq:
    """After ``MODSEQ`` and its space."""
    if c.peek() == ord('"'):
        entry = c.quoted()
        if not entry.lower().startswith(b"/flags/"):
            raise ParseError("Invalid MODSEQ entry name")
        c.sp()
        if c.atom().upper() not in _ENTRY_TYPES:
            raise ParseError("Invalid MODSEQ entry type")
        c.sp()
    return ModSeq(mod_sequence(c, zero=True))
