"""Line-end conversion: streaming in any chunking gives what whole-buffer conversion gives."""

from __future__ import annotations

import io
import itertools
import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from maa.storage.lineends import (
    LfToCrlf,
    crlf_size,
    crlf_to_lf,
    lf_form,
    normalize,
    open_crlf,
    read_range,
    to_crlf,
)
from maa.storage.maildir.save import write_tmp

# Bytes rich in CR and LF so that chunk boundaries fall between them often.
data_strategy = st.binary(max_size=400) | st.lists(
    st.sampled_from([b"\r", b"\n", b"\r\n", b"a", b"\xff", b"\x00"]), max_size=200
).map(b"".join)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@settings(deadline=None)
@given(data=data_strategy, cuts=st.lists(st.integers(min_value=0), max_size=12))
def test_crlf_to_lf_streaming_matches_whole(data: bytes, cuts: list[int]) -> None:
    assert b"".join(crlf_to_lf(iter(split(data, cuts)))) == data.replace(b"\r\n", b"\n")


@settings(deadline=None)
@given(data=data_strategy, cuts=st.lists(st.integers(min_value=0), max_size=12))
def test_lf_to_crlf_streaming_matches_whole(data: bytes, cuts: list[int]) -> None:
    converter = LfToCrlf()
    out = b"".join(converter.feed(chunk) for chunk in split(data, cuts))
    assert out == re.sub(rb"(?<!\r)\n", b"\r\n", data)
    assert converter.size == len(out)


@given(data=data_strategy, cuts=st.lists(st.integers(min_value=0), max_size=12))
def test_crlf_size_counts_what_conversion_gives(data: bytes, cuts: list[int]) -> None:
    assert crlf_size(iter(split(data, cuts))) == len(to_crlf(data))


@settings(deadline=None)
@given(data=data_strategy)
def test_normalized_form_has_no_bare_lf(data: bytes) -> None:
    assert b"\n" not in normalize(data).replace(b"\r\n", b"")


# Lines of any bytes but LF, not ending in CR: a CR right before a line end is the one thing
# LF storage cannot keep (Dovecot's rule, which maa shares so both read the same sizes).
lines = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"").rstrip(b"\r"))


@settings(deadline=None)
@given(body=st.lists(lines, max_size=10), final_newline=st.booleans())
def test_crlf_messages_are_kept_byte_exact(body: list[bytes], final_newline: bool) -> None:
    message = b"\r\n".join(body) + (b"\r\n" if final_newline else b"")
    assert normalize(message) == message


@settings(deadline=None, max_examples=30)  # each example fsyncs a file
@given(data=data_strategy)
def test_saved_file_reads_back_as_normalized(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        check_saved(Path(directory) / "m", data)


def check_saved(path: Path, data: bytes) -> None:
    size, vsize = write_tmp(path, io.BytesIO(data), None)
    on_disk = path.read_bytes()
    assert size == len(on_disk)
    assert on_disk == data.replace(b"\r\n", b"\n")
    with open_crlf(open(path, "rb")) as stream:
        assert stream.read() == normalize(data)
    assert vsize == len(normalize(data))


class Trickle(io.RawIOBase):
    """A stream that gives at most ``step`` bytes per read, as a pipe or socket may."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self._step, len(self._data))
        buffer[:n] = self._data[:n]
        self._data = self._data[n:]
        return n


@settings(deadline=None, max_examples=30)  # each example fsyncs a file
@given(data=data_strategy, step=st.integers(1, 7))
def test_saved_file_and_sizes_do_not_depend_on_read_sizes(data: bytes, step: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "m"
        size, vsize = write_tmp(path, Trickle(data, step), None)  # type: ignore[arg-type]
        assert path.read_bytes() == data.replace(b"\r\n", b"\n")
        assert (size, vsize) == (len(path.read_bytes()), len(normalize(data)))


@settings(deadline=None)
@given(data=data_strategy)
def test_lf_form_is_the_pairwise_replace(data: bytes) -> None:
    assert lf_form(data) == data.replace(b"\r\n", b"\n")


@settings(deadline=None)
@given(data=data_strategy, offset=st.integers(0, 500), length=st.none() | st.integers(0, 500))
def test_read_range_is_a_slice(data: bytes, offset: int, length: int | None) -> None:
    end = None if length is None else offset + length
    assert read_range(io.BytesIO(data), offset, length) == data[offset:end]


@settings(deadline=None)
@given(data=data_strategy)
def test_to_crlf_is_the_bare_lf_rule(data: bytes) -> None:
    assert to_crlf(data) == re.sub(rb"(?<!\r)\n", b"\r\n", data)
    assert normalize(data) == re.sub(rb"(?<!\r)\n", b"\r\n", data.replace(b"\r\n", b"\n"))
