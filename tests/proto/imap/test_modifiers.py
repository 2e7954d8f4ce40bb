"""CONDSTORE/QRESYNC modifiers, SEARCH RETURN, SORT/THREAD and LIST-EXTENDED arguments."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maa.proto.imap import listoptions, modifiers, sortcommands
from maa.proto.imap.cursor import Cursor, ParseError
from maa.proto.imap.sequence import SequenceSet


def cur(text: bytes) -> Cursor:
    return Cursor((text,))


def test_select_condstore() -> None:
    assert modifiers.parse_select_params(cur(b"(CONDSTORE)")) == modifiers.SelectParams(True)


def test_select_qresync_rfc7162_example() -> None:
    c = cur(b"(QRESYNC (67890007 20050715194045000 41,43:211,214:541))")
    params = modifiers.parse_select_params(c)
    assert c.at_end()
    q = params.qresync
    assert q is not None and q.uidvalidity == 67890007 and q.modseq == 20050715194045000
    assert q.known_uids == SequenceSet(((41, 41), (43, 211), (214, 541)))
    assert q.seq_match is None


def test_select_qresync_with_seq_match() -> None:
    c = cur(b"(QRESYNC (67890007 90060115194045000 41:211,214:541 (1:2 41:42)))")
    q = modifiers.parse_select_params(c).qresync
    assert q is not None and q.seq_match == (
        SequenceSet(((1, 2),)),
        SequenceSet(((41, 42),)),
    )


def test_select_qresync_seq_match_without_known_uids() -> None:
    q = modifiers.parse_select_params(cur(b"(QRESYNC (1 2 (1:2 41:42)))")).qresync
    assert q is not None and q.known_uids is None and q.seq_match is not None


@pytest.mark.parametrize(
    "text",
    [b"()", b"(CONDSTORE CONDSTORE)", b"(QRESYNC (0 1))", b"(QRESYNC (1 0))", b"(FOO)",
     b"(QRESYNC (1 99999999999999999999))", b"(QRESYNC (1 2 $))"],
)  # fmt: skip
def test_bad_select_params(text: bytes) -> None:
    with pytest.raises(ParseError):
        modifiers.parse_select_params(cur(text))


def test_fetch_modifiers() -> None:
    assert modifiers.parse_fetch_modifiers(cur(b"(CHANGEDSINCE 12345)")) == (
        modifiers.FetchModifiers(12345, False)
    )
    assert modifiers.parse_fetch_modifiers(cur(b"(VANISHED CHANGEDSINCE 7)")) == (
        modifiers.FetchModifiers(7, True)
    )
    for bad in (b"(VANISHED)", b"(CHANGEDSINCE 0)", b"()", b"(CHANGEDSINCE 1 CHANGEDSINCE 2)"):
        with pytest.raises(ParseError):
            modifiers.parse_fetch_modifiers(cur(bad))


def test_store_modifier_admits_zero() -> None:
    assert modifiers.parse_store_modifiers(cur(b"(UNCHANGEDSINCE 0)")) == 0
    assert modifiers.parse_store_modifiers(cur(b"(unchangedsince 320162338)")) == 320162338
    with pytest.raises(ParseError):
        modifiers.parse_store_modifiers(cur(b"(CHANGEDSINCE 3)"))


def test_modseq_search_key_with_entry() -> None:
    c = cur(b'"/flags/\\\\draft" all 620162338')
    assert modifiers.parse_modseq_key(c) == modifiers.ModSeq(620162338)
    assert modifiers.parse_modseq_key(cur(b"0")) == modifiers.ModSeq(0)


def test_search_return() -> None:
    assert modifiers.parse_search_return(cur(b"()")) == ("ALL",)
    assert modifiers.parse_search_return(cur(b"(MIN max COUNT)")) == ("MIN", "MAX", "COUNT")
    with pytest.raises(ParseError):
        modifiers.parse_search_return(cur(b"(SAVE)"))  # SEARCHRES is not offered


@given(st.integers(1, modifiers.MAX_MODSEQ))
def test_mod_sequence_round_trip(value: int) -> None:
    assert modifiers.mod_sequence(cur(str(value).encode())) == value


def test_sort_command() -> None:
    cmd = sortcommands.Sort.parse_uid(cur(b" (REVERSE DATE subject) UTF-8 SINCE 1-Feb-1994"), True)
    assert cmd.criteria == (
        sortcommands.SortCriterion("DATE", True),
        sortcommands.SortCriterion("SUBJECT", False),
    )
    assert cmd.uid and cmd.charset == "UTF-8"


@pytest.mark.parametrize(
    "text",
    [b" () UTF-8 ALL", b" (REVERSE) UTF-8 ALL", b" (FOO) UTF-8 ALL", b" (DATE) ALL",
     b" (DATE) KOI8-R ALL", b" DATE UTF-8 ALL"],
)  # fmt: skip
def test_bad_sort(text: bytes) -> None:
    with pytest.raises(ParseError):
        sortcommands.Sort.parse_uid(cur(text), False)


def test_thread_command() -> None:
    cmd = sortcommands.Thread.parse_uid(cur(b" references US-ASCII ALL"), False)
    assert cmd.algorithm == "REFERENCES"
    with pytest.raises(ParseError):
        sortcommands.Thread.parse_uid(cur(b" REFS UTF-8 ALL"), False)


def test_list_basic_is_not_extended() -> None:
    args = listoptions.parse_list(cur(b' "" *'))
    assert args == listoptions.ListArgs(b"", (b"*",))


def test_list_thunderbird() -> None:
    args = listoptions.parse_list(cur(b' (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE)'))
    assert args.selection == {"SUBSCRIBED"} and args.returns == {"SPECIAL-USE"}
    assert args.patterns == (b"*",) and args.extended


def test_list_patterns_and_status() -> None:
    args = listoptions.parse_list(
        cur(b' "" ("INBOX" Sent %) RETURN (CHILDREN STATUS (MESSAGES UIDNEXT))')
    )
    assert args.patterns == (b"INBOX", b"Sent", b"%")
    assert args.status == ("MESSAGES", "UIDNEXT") and args.returns == {"CHILDREN", "STATUS"}


@pytest.mark.parametrize(
    "text",
    [b' (RECURSIVEMATCH) "" *', b' (REMOTE RECURSIVEMATCH) "" *', b' (FOO) "" *',
     b' "" * RETURN (FOO)', b' "" * RETURN (STATUS ())', b' "" * RETURN STATUS',
     b' "" ()', b' "" * EXTRA (CHILDREN)'],
)  # fmt: skip
def test_bad_list(text: bytes) -> None:
    with pytest.raises(ParseError):
        listoptions.parse_list(cur(text))


_OPTION_TEXT = st.sampled_from(
    [b"(", b")", b" ", b"SUBSCRIBED", b"RETURN", b"STATUS", b"CHILDREN", b"QRESYNC",
     b"CONDSTORE", b"CHANGEDSINCE", b"VANISHED", b"1", b"0", b"99999999999999999999", b":",
     b",", b"*", b'"', b"REVERSE", b"DATE", b"UTF-8", b"ALL", b"RECURSIVEMATCH"]
)  # fmt: skip


@given(st.lists(_OPTION_TEXT, max_size=30).map(b"".join))
def test_option_parsers_raise_only_parse_errors(text: bytes) -> None:
    parsers = [
        modifiers.parse_select_params,
        modifiers.parse_fetch_modifiers,
        modifiers.parse_store_modifiers,
        modifiers.parse_search_return,
        modifiers.parse_modseq_key,
        listoptions.parse_list,
        lambda c: sortcommands.Sort.parse_uid(c, False),
        lambda c: sortcommands.Thread.parse_uid(c, True),
    ]
    for parse in parsers:
        try:
            parse(cur(text))
        except ParseError:
            pass
