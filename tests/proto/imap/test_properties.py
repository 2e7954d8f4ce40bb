"""Hypothesis properties: arbitrary bytes never crash the core; generated commands round-trip."""

from __future__ import annotations

import datetime

from hypothesis import given
from hypothesis import strategies as st

from maa.proto.imap import commands as c
from maa.proto.imap import searchkeys as k
from maa.proto.imap.fetchattrs import Section
from maa.proto.imap.framing import Framer, RawCommand
from maa.proto.imap.sequence import SequenceSet
from maa.proto.imap.table import CommandError, parse_command

_IMAPISH = st.sampled_from(
    [b" ", b"(", b")", b"[", b"]", b"{", b"}", b"+", b"\"", b"\\", b"*", b"%", b":", b",",
     b"\r\n", b"\n", b"{3}\r\n", b"{2+}\r\n", b"<", b">", b".", b"1", b"0", b"UID", b"FETCH",
     b"BODY.PEEK", b"HEADER.FIELDS", b"SEARCH", b"OR", b"NOT", b"APPEND", b"LOGIN", b"a1",
     b"FLAGS", b"\\Seen", b"STORE", b"+FLAGS", b"SELECT", b"INBOX", b"\x00", b"\xff"]
)  # fmt: skip


def run(data: bytes, chunk: int) -> None:
    framer = Framer(max_append=1000)
    for start in range(0, len(data), chunk):
        framer.feed(data[start : start + chunk])
        while (event := framer.next_event()) is not None:
            if isinstance(event, RawCommand):
                try:
                    parse_command(event)
                except CommandError:
                    pass


@given(st.binary(max_size=400), st.integers(1, 50))
def test_random_bytes_never_crash(data: bytes, chunk: int) -> None:
    run(data, chunk)


@given(st.lists(_IMAPISH, max_size=60), st.integers(1, 50))
def test_imap_shaped_noise_never_crashes(tokens: list[bytes], chunk: int) -> None:
    run(b"".join(tokens), chunk)


_atoms = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1)
_numbers = st.integers(1, 2**31)
_ranges = st.tuples(st.one_of(st.none(), _numbers), st.one_of(st.none(), _numbers))
_sets = st.lists(_ranges, min_size=1, max_size=5).map(lambda r: SequenceSet(tuple(r)))
_sections = st.builds(
    Section,
    part=st.lists(st.integers(1, 20), max_size=3).map(tuple),
    text=st.sampled_from([None, "HEADER", "TEXT"]),
    peek=st.booleans(),
    partial=st.one_of(st.none(), st.tuples(st.integers(0, 10**6), st.integers(1, 10**6))),
)
_items = st.lists(
    st.one_of(st.sampled_from(["FLAGS", "UID", "ENVELOPE", "RFC822.SIZE"]), _sections),
    min_size=1,
    max_size=5,
)


def parse_one(data: bytes) -> object:
    framer = Framer()
    framer.feed(data)
    event = framer.next_event()
    assert isinstance(event, RawCommand)
    return parse_command(event).command


@given(_sets, _items, st.booleans())
def test_fetch_round_trip(sequence: SequenceSet, items: list[str | Section], uid: bool) -> None:
    names = " ".join(i.request_name() if isinstance(i, Section) else i for i in items)
    line = f"t {'UID ' if uid else ''}FETCH {sequence.serialize()} ({names})\r\n".encode()
    parsed = parse_one(line)
    assert isinstance(parsed, c.Fetch)
    assert parsed.sequence == sequence
    expected = tuple(items)
    if uid and "UID" not in expected:
        expected = ("UID", *expected)
    assert parsed.items == expected


@given(st.binary(max_size=50), st.binary(max_size=50))
def test_login_round_trip_through_literals(user: bytes, password: bytes) -> None:
    line = b"t LOGIN {%d+}\r\n%s {%d+}\r\n%s\r\n" % (len(user), user, len(password), password)
    assert parse_one(line) == c.Login(user, password)


@given(_atoms, st.lists(st.sampled_from(["\\Seen", "\\Deleted", "$Junk", "$Label1"]), max_size=4))
def test_store_round_trip(_: str, flags: list[str]) -> None:
    line = f"t STORE 1:* +FLAGS ({' '.join(flags)})\r\n".encode()
    if not flags:
        line = b"t STORE 1:* +FLAGS ()\r\n"
    assert parse_one(line) == c.Store(SequenceSet(((1, None),)), "add", False, tuple(flags))


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_text_values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters='"\\'), max_size=12
)


def _leaf() -> st.SearchStrategy[k.SearchKey]:
    return st.one_of(
        st.sampled_from(sorted(k.NO_ARG_KEYS)).map(k.Simple),
        st.builds(k.Text, st.sampled_from(sorted(k.STRING_KEYS)), _text_values),
        st.builds(
            lambda field, value: k.Text("HEADER", value, field),
            st.sampled_from(["X-Tag", "Subject", "List-Id"]),
            _text_values,
        ),
        st.builds(
            k.Date,
            st.sampled_from(sorted(k.DATE_KEYS)),
            st.dates(datetime.date(1970, 1, 1), datetime.date(2100, 1, 1)),
        ),
        st.builds(k.Size, st.sampled_from(sorted(k.SIZE_KEYS)), st.integers(0, 2**31)),
        st.builds(
            k.Keyword, st.sampled_from(sorted(k.FLAG_KEYS)), st.sampled_from(["$Junk", "\\Seen"])
        ),
        st.builds(k.Sequence, _sets, st.booleans()),
    )


_keys = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.builds(k.Not, inner),
        st.builds(k.Or, inner, inner),
        st.lists(inner, min_size=2, max_size=3).map(lambda keys: k.And(tuple(keys))),
    ),
    max_leaves=8,
)


def serialize(key: k.SearchKey) -> str:
    if isinstance(key, k.And):
        return "(" + " ".join(serialize(sub) for sub in key.keys) + ")"
    if isinstance(key, k.Or):
        return f"OR {serialize(key.left)} {serialize(key.right)}"
    if isinstance(key, k.Not):
        return f"NOT {serialize(key.key)}"
    if isinstance(key, k.Simple):
        return key.name
    if isinstance(key, k.Text):
        field = f'"{key.field}" ' if key.name == "HEADER" else ""
        return f'{key.name} {field}"{key.value}"'
    if isinstance(key, k.Date):
        d = key.date
        return f"{key.name} {d.day}-{_MONTHS[d.month - 1]}-{d.year}"
    if isinstance(key, k.Size):
        return f"{key.name} {key.size}"
    if isinstance(key, k.Keyword):
        return f"{key.name} {key.flag}"
    return ("UID " if key.uid else "") + key.set.serialize()


@given(_keys)
def test_search_round_trip(key: k.SearchKey) -> None:
    line = f"t SEARCH {serialize(key)}\r\n".encode()
    parsed = parse_one(line)
    assert isinstance(parsed, c.Search)
    assert parsed.key == key
