"""Sequence sets (RFC 3501 ``sequence-set``): ``1:4,7,9:*``; ``$`` is parsed (RFC 5182) so the
grammar stays whole, and refused by the session while SEARCHRES is not offered."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

from maa.proto.imap.cursor import Cursor, ParseError

# A range end of None stands for "*": the largest number in use.
Range = tuple[int | None, int | None]


@dataclass(frozen=True)
class SequenceSet:
    ranges: tuple[Range, ...]
    saved: bool = False  # "$": the result saved by SEARCH RETURN (SAVE)

    @classmethod
    def parse(cls, c: Cursor) -> SequenceSet:
        if c.maybe(b"$"):
            return cls((), saved=True)
        ranges: list[Range] = []
        while True:
            first = cls._number(c)
            last = cls._number(c) if c.maybe(b":") else first
            ranges.append((first, last))
            if not c.maybe(b","):
                break
        return cls(tuple(ranges))

    @staticmethod
    def _number(c: Cursor) -> int | None:
        if c.maybe(b"*"):
            return None
        return c.nz_number()

    def resolve(self, largest: int) -> Iterator[tuple[int, int]]:
        """Each range as (low, high) with "*" replaced by ``largest`` (RFC 3501: ``4:2`` is
        ``2:4``)."""
        for first, last in self.ranges:
            a = largest if first is None else first
            b = largest if last is None else last
            yield (a, b) if a <= b else (b, a)

    def contains(self, value: int, largest: int) -> bool:
        return any(low <= value <= high for low, high in self.resolve(largest))

    def select(self, values: list[int]) -> list[int]:
        """The members of ``values`` (ascending) that fall in this set, largest = last."""
        if not values:
            return []
        chosen: list[int] = []
        end = 0  # values[:end] are decided
        for low, high in sorted(self.resolve(values[-1])):
            start = max(end, bisect.bisect_left(values, low))
            end = max(end, bisect.bisect_right(values, high))
            chosen += values[start:end]
        return chosen

    def serialize(self) -> str:
        if self.saved:
            return "$"

        def one(n: int | None) -> str:
            return "*" if n is None else str(n)

        return ",".join(one(a) if a == b else f"{one(a)}:{one(b)}" for a, b in self.ranges)


def format_uid_set(uids: list[int]) -> str:
    """Compact ascending UIDs into ``1:3,7`` form (UIDPLUS responses)."""
    if not uids:
        raise ParseError("empty set")
    out: list[str] = []
    start = prev = uids[0]
    for uid in uids[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        out.append(str(start) if start == prev else f"{start}:{prev}")
        start = prev = uid
    out.append(str(start) if start == prev else f"{start}:{prev}")
    return ",".join(out)
