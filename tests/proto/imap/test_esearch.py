"""SEARCH/ESEARCH result lines (RFC 4731 examples, RFC 7162 MODSEQ suffix)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from maa.proto.imap.cursor import Cursor
from maa.proto.imap.esearch import esearch_line, search_line, sequence_set
from maa.proto.imap.sequence import SequenceSet


def test_rfc4731_min_max_count() -> None:
    # RFC 4731 section 3.1: A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 ...
    line = esearch_line("A282", uid=False, options=("MIN", "COUNT"), found=[2, 10, 11])
    assert line == b'* ESEARCH (TAG "A282") MIN 2 COUNT 3\r\n'


def test_rfc4731_all_as_sequence_set() -> None:
    found = [2, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27]
    found += list(range(28, 69))
    line = esearch_line("A283", uid=False, options=("ALL",), found=found)
    assert line == b'* ESEARCH (TAG "A283") ALL 2,10:68\r\n'


def test_rfc4731_no_match() -> None:
    line = esearch_line("A284", uid=False, options=("MIN",), found=[])
    assert line == b'* ESEARCH (TAG "A284")\r\n'
    line = esearch_line("A285", uid=True, options=("MIN", "MAX", "COUNT"), found=[])
    assert line == b'* ESEARCH (TAG "A285") UID COUNT 0\r\n'


def test_uid_and_modseq() -> None:
    line = esearch_line(
        "a", uid=True, options=("MIN", "MAX"), found=[4, 7, 9], modseqs=[50, 900, 60]
    )
    assert line == b'* ESEARCH (TAG "a") UID MIN 4 MAX 9 MODSEQ 60\r\n'
    line = esearch_line("a", uid=True, options=("COUNT",), found=[4, 7], modseqs=[50, 900])
    assert line == b'* ESEARCH (TAG "a") UID COUNT 2 MODSEQ 900\r\n'


def test_search_modseq_suffix() -> None:
    assert search_line([2, 5, 6], 917162500) == b"* SEARCH 2 5 6 (MODSEQ 917162500)\r\n"
    assert search_line([], 917162500) == b"* SEARCH\r\n"


@given(st.sets(st.integers(1, 2000), max_size=60))
def test_sequence_set_names_exactly_the_numbers(numbers: set[int]) -> None:
    ordered = sorted(numbers)
    text = sequence_set(ordered)
    if not ordered:
        assert text == ""
        return
    parsed = SequenceSet.parse(Cursor((text.encode(),)))
    assert parsed.select(list(range(1, 2001))) == ordered
