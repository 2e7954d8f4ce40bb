"""SORT and THREAD (RFC 5256, with RFC 5957 DISPLAYFROM/DISPLAYTO) and their UID forms.

``SORT (REVERSE DATE SUBJECT) UTF-8 ALL``; ``THREAD REFERENCES UTF-8 ALL``. Unlike SEARCH, the
charset is required.
"""

from __future__ import annotations

from dataclasses import dataclass

from maa.proto.imap.cursor import Cursor, ParseError, UnsupportedCharset
from maa.proto.imap.searchkeys import SearchKey, parse_search

SORT_KEYS = frozenset(
    {"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"}
)
THREAD_ALGORITHMS = ("ORDEREDSUBJECT", "REFERENCES")
CHARSETS = ("US-ASCII", "UTF-8")


@dataclass(frozen=True)
class SortCriterion:
    key: str
    reverse: bool = False


def _charset(c: Cursor) -> str:
    charset = c.astring().decode("ascii", "replace").upper()
    if c.at_end():  # ``SORT (DATE) ALL``: the charset left out, not an unknown one
        raise ParseError("Missing charset or search keys")
    if charset not in CHARSETS:
        raise UnsupportedCharset(f"[BADCHARSET ({' '.join(CHARSETS)})] Unsupported {charset}")
    return charset


def parse_sort_criteria(c: Cursor) -> tuple[SortCriterion, ...]:
    c.expect(b"(")
    criteria: list[SortCriterion] = []
    while not c.maybe(b")"):
        if criteria:
            c.sp()
        name = c.atom().upper()
        reverse = False
        if name == "REVERSE":
            reverse = True
            c.sp()
            name = c.atom().upper()
        if name not in SORT_KEYS:
            raise ParseError(f"Unknown sort key {name}")
        criteria.append(SortCriterion(name, reverse))
    if not criteria:
        raise ParseError("Empty sort criteria")
    return tuple(criteria)


@dataclass(frozen=True)
class Sort:
    criteria: tuple[SortCriterion, ...]
    charset: str
    key: SearchKey
    uid: bool = False

    @classmethod
    def parse_uid(cls, c: Cursor, uid: bool) -> Sort:
        c.sp()
        criteria = parse_sort_criteria(c)
        c.sp()
        charset = _charset(c)
        c.sp()
        key = parse_search(c, charset)
        c.end()
        return cls(criteria, charset, key, uid)


@dataclass(frozen=True)
class Thread:
    algorithm: str
    charset: str
    key: SearchKey
    uid: bool = False

    @classmethod
    def parse_uid(cls, c: Cursor, uid: bool) -> Thread:
        c.sp()
        algorithm = c.atom().upper()
        if algorithm not in THREAD_ALGORITHMS:
            raise ParseError(f"Unknown thread algorithm {algorithm}")
        c.sp()
        charset = _charset(c)
        c.sp()
        key = parse_search(c, charset)
        c.end()
        return cls(algorithm, charset, key, uid)
