"""Property tests for the Maildir file formats: uidlist, keywords, names, subscriptions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maa.storage import InvalidFolderName, names
from maa.storage.interface import SYSTEM_FLAGS
from maa.storage.maildir import filename, keywords, layout, uidlist

base_names = st.builds(
    "{}.M{}P{}.host{}".format,
    st.integers(10**9, 2 * 10**9),
    st.integers(0, 999_999),
    st.integers(1, 99_999),
    st.sampled_from(["", ",S=42", ",S=42,W=44"]),
)
atoms = st.text(alphabet="abcXYZ019$_-", min_size=1, max_size=12).filter(lambda s: s[0] != "-")
levels = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="./\\\t"),
    min_size=1,
    max_size=10,
).filter(lambda s: s.strip() == s)
folder_names = st.lists(levels, min_size=1, max_size=3).map(".".join)


@settings(deadline=None, max_examples=40)
@given(
    records=st.lists(base_names, unique=True, max_size=30), uidvalidity=st.integers(1, 2**32 - 1)
)
def test_uidlist_round_trip(records: list[str], uidvalidity: int) -> None:
    original = uidlist.Uidlist(uidvalidity=uidvalidity)
    for base in records:
        original.add(base)
    parsed = uidlist.parse(original.serialize())
    assert parsed.uidvalidity == uidvalidity
    assert parsed.records == original.records
    assert parsed.next_uid == original.next_uid
    assert parsed.guid == original.guid


@settings(deadline=None, max_examples=40)
@given(data=st.binary(max_size=300))
def test_uidlist_parser_rejects_garbage_cleanly(data: bytes) -> None:
    try:
        parsed = uidlist.parse(data)
    except uidlist.UidlistError:
        return
    except ValueError:
        pytest.fail("ValueError escaped the uidlist parser")
    assert parsed.next_uid > max(parsed.records, default=0)


def test_uidlist_reads_dovecot_extension_fields() -> None:
    data = b"3 V1275660208 N6 G3085f01b7f11094c501100008c4a11c1\n1 :a\n5 W2345 :b,S=10\n"
    parsed = uidlist.parse(data)
    assert parsed.records == {1: "a", 5: "b,S=10"}
    assert parsed.next_uid == 6
    assert parsed.serialize() == data


@settings(deadline=None, max_examples=40)
@given(kws=st.lists(atoms, unique=True, max_size=30))
def test_keywords_file_round_trip(kws: list[str]) -> None:
    assert keywords.parse("".join(f"{i} {k}\n" for i, k in enumerate(kws)).encode()) == kws


@settings(deadline=None, max_examples=40)
@given(
    flags=st.sets(st.sampled_from(sorted(SYSTEM_FLAGS)) | atoms),
    known=st.lists(atoms, unique=True, max_size=26),
)
def test_info_letters_round_trip(flags: set[str], known: list[str]) -> None:
    known = known + sorted(f for f in flags if f not in known and not f.startswith("\\"))
    index = {k: i for i, k in enumerate(known)}
    info = filename.info_for(frozenset(flags), index)
    assert list(info) == sorted(info)
    letters = {f for f in flags if f.startswith("\\") or index[f] < 26}
    assert filename.flags_of(info, known) == letters


@settings(deadline=None, max_examples=40)
@given(name=folder_names)
def test_folder_directory_names_round_trip(name: str) -> None:
    canonical = names.canonical(name)
    directory = layout.dirname(canonical)
    if canonical != "INBOX":
        assert layout.folder_name(directory) == canonical


@settings(deadline=None, max_examples=40)
@given(subscribed=st.lists(folder_names, unique=True, max_size=8))
def test_subscriptions_round_trip(subscribed: list[str]) -> None:
    canonical = list(dict.fromkeys(names.canonical(n) for n in subscribed))
    assert layout.parse_subscriptions(layout.format_subscriptions(canonical)) == canonical


@settings(deadline=None, max_examples=40)
@given(name=st.text(max_size=30))
def test_no_name_becomes_a_path_outside_the_root(name: str) -> None:
    try:
        canonical = names.canonical(name)
    except InvalidFolderName:
        return
    directory = layout.dirname(canonical)
    assert "/" not in directory and "\x00" not in directory
    assert directory == "." or (directory.startswith(".") and not directory.startswith(".."))
