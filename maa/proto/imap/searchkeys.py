"""SEARCH keys (RFC 3501 6.4.4) as a small tree: a list is AND, OR and NOT nest."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from maa.proto.imap import limits
from maa.proto.imap.cursor import Cursor, ParseError
from maa.proto.imap.modifiers import ModSeq, parse_modseq_key
from maa.proto.imap.sequence import SequenceSet

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")

# Keys without arguments; the flag ones map to (flag, wanted).
NO_ARG_KEYS = frozenset(
    {
        "ALL",
        "ANSWERED",
        "DELETED",
        "DRAFT",
        "FLAGGED",
        "NEW",
        "OLD",
        "RECENT",
        "SEEN",
        "UNANSWERED",
        "UNDELETED",
        "UNDRAFT",
        "UNFLAGGED",
        "UNSEEN",
    }
)
STRING_KEYS = frozenset({"BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO"})
DATE_KEYS = frozenset({"BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE"})
SIZE_KEYS = frozenset({"LARGER", "SMALLER"})
FLAG_KEYS = frozenset({"KEYWORD", "UNKEYWORD"})


@dataclass(frozen=True)
class And:
    keys: tuple[SearchKey, ...]


@dataclass(frozen=True)
class Or:
    left: SearchKey
    right: SearchKey


@dataclass(frozen=True)
class Not:
    key: SearchKey


@dataclass(frozen=True)
class Simple:
    """ALL, SEEN, UNSEEN, NEW, ...: no argument."""

    name: str


@dataclass(frozen=True)
class Text:
    """FROM/TO/CC/BCC/SUBJECT/BODY/TEXT value, or HEADER field value."""

    name: str
    value: str
    field: str = ""


@dataclass(frozen=True)
class Date:
    name: str
    date: datetime.date


@dataclass(frozen=True)
class Size:
    name: str
    size: int


@dataclass(frozen=True)
class Keyword:
    name: str  # KEYWORD or UNKEYWORD
    flag: str


@dataclass(frozen=True)
class Sequence:
    set: SequenceSet
    uid: bool


SearchKey = And | Or | Not | Simple | Text | Date | Size | Keyword | Sequence | ModSeq


def parse_date(c: Cursor) -> datetime.date:
    """``date`` of RFC 3501: ``1-Feb-1994``, optionally quoted."""
    quoted = c.maybe(b'"')
    text = c.raw_until(b' )"').decode("ascii", "replace")
    if quoted:
        c.expect(b'"')
    try:
        day, month, year = text.split("-")
        return datetime.date(int(year), _MONTHS.index(month.upper()) + 1, int(day))
    except (ValueError, IndexError) as e:
        raise ParseError(f"Invalid date {text!r}") from e


def parse_search(c: Cursor, charset: str) -> SearchKey:
    """One or more keys separated by spaces, up to the end of the command."""
    keys = [parse_key(c, charset, 0)]
    while c.maybe_sp():
        keys.append(parse_key(c, charset, 0))
    return keys[0] if len(keys) == 1 else And(tuple(keys))


def _decode(value: bytes, charset: str) -> str:
    try:
        return value.decode("utf-8" if charset in ("UTF-8", "US-ASCII") else charset)
    except (UnicodeDecodeError, LookupError) as e:
        raise ParseError("Invalid characters in search string") from e


def parse_key(c: Cursor, charset: str, depth: int) -> SearchKey:
    if depth > limits.MAX_NESTING:
        raise ParseError("Search keys nested too deeply")
    if c.maybe(b"("):
        keys = [parse_key(c, charset, depth + 1)]
        while not c.maybe(b")"):
            c.sp()
            keys.append(parse_key(c, charset, depth + 1))
        return keys[0] if len(keys) == 1 else And(tuple(keys))
    peek = c.peek()
    if peek is not None and (chr(peek).isdigit() or peek in b"*$"):
        return Sequence(SequenceSet.parse(c), uid=False)
    name = c.atom().upper()
    if name in NO_ARG_KEYS:
        return Simple(name)
    c.sp()
    if name in STRING_KEYS:
        return Text(name, _decode(c.astring(), charset))
    if name == "HEADER":
        field = c.astring().decode("ascii", "replace")
        c.sp()
        return Text(name, _decode(c.astring(), charset), field)
    if name in DATE_KEYS:
        return Date(name, parse_date(c))
    if name in SIZE_KEYS:
        return Size(name, c.number())
    if name in FLAG_KEYS:
        return Keyword(name, c.flag())
    if name == "UID":
        return Sequence(SequenceSet.parse(c), uid=True)
    if name == "MODSEQ":  # RFC 7162 3.1.5
        return parse_modseq_key(c)
    if name == "NOT":
        return Not(parse_key(c, charset, depth + 1))
    if name == "OR":
        left = parse_key(c, charset, depth + 1)
        c.sp()
        return Or(left, parse_key(c, charset, depth + 1))
    raise ParseError(f"Unknown search key {name}")
