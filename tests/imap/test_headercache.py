"""The header cache's fast paths give what the general header code gives."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from maa import mail
from maa.imap.headercache import (
    SEARCH_FIELDS,
    field_values,
    fields_block,
    first_field_value,
    first_values,
    read_header,
    search_block,
)
from maa.mail.headers import first_raw_value, raw_values

_NAMES = ["Subject", "SUBJECT", "subject ", " From", "To", "Cc", "X-Subject", "SubjectX", "Date"]
_LINE = st.one_of(
    st.builds(
        lambda name, value: f"{name}:{value}".encode(),
        st.sampled_from(_NAMES),
        st.text("ab =?:\t", max_size=8),
    ),
    st.sampled_from(
        [
            *(b" folded", b"\tfolded", b"no colon", b"", b"From x", b"Subject"),
            *(b"To: a Subject: b", b"SUBJECT :y", b" Subject: led", b"x-subject:z"),
            *(b"Subject:\x00", b"subject"),
        ]
    ),
)
_END = st.sampled_from([b"\r\n", b"\n"])


@st.composite
def header_blocks(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(_LINE, _END), max_size=12))
    block = b"".join(line + end for line, end in lines)
    return block + draw(st.sampled_from([b"", b"\r\n", b"\n", b"Subject: cut"]))


@given(header_blocks())
def test_search_block_is_header_fields(block: bytes) -> None:
    header = mail.header_block(block)
    assert search_block(header) == mail.header_fields(header, SEARCH_FIELDS)


_ASKED = st.lists(
    st.sampled_from(["Subject", "from", "TO", "X-Subject", "Subject ", "Sub:ject", "Grüße", "C"]),
    max_size=4,
).map(tuple)


@given(header_blocks(), _ASKED)
def test_fields_block_is_header_fields(block: bytes, names: tuple[str, ...]) -> None:
    header = mail.header_block(block)
    assert fields_block(header, names) == mail.header_fields(header, names)


@given(
    header_blocks(), st.sampled_from(["Subject", "subject ", "From", "X-Subject", "Sub:ject", "C"])
)
def test_field_values_are_raw_values(block: bytes, name: str) -> None:
    header = mail.header_block(block)
    assert field_values(header, name) == raw_values(header, name)
    fields = fields_block(header, SEARCH_FIELDS)
    assert field_values(fields, name) == raw_values(fields, name)


@given(header_blocks(), st.sampled_from(["Subject", "subject ", "From", "X-Subject", "C"]))
def test_first_field_value_is_first_raw_value(block: bytes, name: str) -> None:
    header = mail.header_block(block)
    assert first_field_value(header, name) == first_raw_value(header, name)


@given(header_blocks())
def test_first_values_are_first_raw_values(block: bytes) -> None:
    header = mail.header_block(block)
    names = ("subject", "from", "x-subject")
    expected = {name: first_raw_value(header, name) for name in names}
    assert first_values(header, names) == {n: v for n, v in expected.items() if v is not None}


class Trickle(io.RawIOBase):
    """A stream that hands out at most ``step`` bytes a read, as a pipe might."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._step = data, step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        n = self._step if size < 0 else min(size, self._step)
        piece, self._data = self._data[:n], self._data[n:]
        return piece


@given(header_blocks(), st.binary(max_size=40), st.integers(1, 7))
def test_read_header_stops_where_header_block_does(block: bytes, body: bytes, step: int) -> None:
    message = block + body
    expected = mail.header_block(io.BytesIO(message))
    assert read_header(Trickle(message, step)) == expected  # type: ignore[arg-type]
