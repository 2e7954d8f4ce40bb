"""SequenceSet.select against the definition: the values that fall in any of the ranges."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from maa.proto.imap.sequence import SequenceSet

ends = st.one_of(st.none(), st.integers(min_value=1, max_value=60))
ranges = st.lists(st.tuples(ends, ends), min_size=1, max_size=8)
values = st.lists(st.integers(min_value=1, max_value=50), max_size=40, unique=True).map(sorted)


@given(ranges, values)
def test_select_is_membership_in_order(
    spans: list[tuple[int | None, int | None]], vals: list[int]
) -> None:
    sequence = SequenceSet(tuple(spans))
    expected = [v for v in vals if sequence.contains(v, vals[-1])] if vals else []
    assert sequence.select(vals) == expected


def test_select_overlapping_and_reversed_ranges() -> None:
    sequence = SequenceSet(((5, 2), (3, 8), (20, None)))
    assert sequence.select([1, 2, 4, 8, 9, 25, 30]) == [2, 4, 8, 25, 30]
