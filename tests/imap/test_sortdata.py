"""The cached SORT/THREAD keys: collation, group addresses, the cache record."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from maa.imap import sortdata
from maa.storage.memory import MemoryStore

HEADER = (
    b"From: =?utf-8?q?J=C3=B6rg?= <jorg@example.test>\r\n"
    b"To: Friends: a@example.test, b@example.test;\r\n"
    b"Cc: <cc@example.test>\r\n"
    b"Subject: Re: [list] =?utf-8?q?=C3=84rger?= (fwd)\r\n"
    b"Date: Tue, 05 Mar 2024 10:00:00 +0100\r\n"
    b"Message-ID: <1@x>\r\n"
    b"References: <0@x> <00@x>\r\n\r\n"
)


def test_keys() -> None:
    data = sortdata.compute(HEADER)
    assert data.base_subject == sortdata.casemap("Ärger")
    assert data.from_ == b"JORG" and data.display_from == sortdata.casemap("Jörg")
    assert data.to == b"FRIENDS" and data.display_to == b"FRIENDS"  # the group's name
    assert data.cc == b"CC"
    assert data.sent == 1709629200.0
    assert data.message_id == "<1@x>" and data.references == ("<0@x>", "<00@x>")


def test_casemap_puts_accented_letters_with_their_base() -> None:
    words = ["Duplicate", "Ärger", "apple", "Zebra", ""]
    assert sorted(words, key=sortdata.casemap) == ["", "apple", "Ärger", "Duplicate", "Zebra"]


def test_missing_date_falls_back_to_internal_date() -> None:
    data = sortdata.compute(b"Subject: x\r\n\r\n")
    assert data.sent is None and data.sent_date(86400.0).day == 2


def test_keys_come_from_the_header_cache_and_the_memo() -> None:
    folder = MemoryStore().folder("INBOX")
    uid = folder.append(HEADER + b"body\r\n")
    reads: list[int] = []

    def header() -> bytes:
        reads.append(uid)
        return HEADER

    first = sortdata.sort_data(folder, uid, header)
    again = sortdata.sort_data(folder, uid, header)
    assert reads == [uid]  # the second read came from the cached header fields
    assert (again.sent, again.references, again.from_) == (
        first.sent,
        first.references,
        first.from_,
    )
    memo: dict[int, sortdata.SortData] = {}
    kept = sortdata.sort_data(folder, uid, header, memo)
    assert memo[uid] is kept and sortdata.sort_data(folder, uid, header, memo) is kept
    assert kept.base_subject == sortdata.casemap("Ärger") and reads == [uid]


@given(st.text(max_size=40), st.text(max_size=40))
def test_casemap_is_case_blind_for_ascii(a: str, b: str) -> None:
    if a.isascii() and b.isascii() and a.lower() == b.lower():
        assert sortdata.casemap(a) == sortdata.casemap(b)


@given(st.binary(max_size=300))
def test_compute_never_raises(header: bytes) -> None:
    data = sortdata.compute(header)
    keys = (data.subject, data.base_subject, data.from_, data.to, data.cc, data.display_from)
    assert all(isinstance(key, str | bytes) for key in keys)
    assert data.display_to is not None and data.sent_date(0.0) is not None
    assert data.message_id is None or data.message_id.startswith("<")
    assert isinstance(data.references, tuple)
