"""COMPRESS=DEFLATE transform (RFC 4978): raw deflate both ways, bounded inflation."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maa.proto.imap.compress import MAX_INFLATE_STEP, CompressionError, Deflate


def client_pair() -> tuple[zlib._Compress, zlib._Decompress]:
    return zlib.compressobj(6, zlib.DEFLATED, -15), zlib.decompressobj(-15)


def test_each_batch_is_decodable_at_once() -> None:
    server = Deflate()
    _, inflate = client_pair()
    for batch in (b"* 1 EXISTS\r\n", b"a OK done\r\n" * 50):
        assert inflate.decompress(server.compress(batch)) == batch


def test_client_stream_is_inflated_in_pieces() -> None:
    server = Deflate()
    deflate, _ = client_pair()
    data = deflate.compress(b"a NOOP\r\nb CAPABILITY\r\n") + deflate.flush(zlib.Z_SYNC_FLUSH)
    out = b"".join(server.decompress(data[i : i + 3]) for i in range(0, len(data), 3))
    assert out == b"a NOOP\r\nb CAPABILITY\r\n"


def test_decompression_bomb_comes_out_in_bounded_steps() -> None:
    server = Deflate()
    deflate, _ = client_pair()
    bomb = deflate.compress(b"A" * (5 * MAX_INFLATE_STEP)) + deflate.flush(zlib.Z_SYNC_FLUSH)
    assert len(bomb) < 100_000
    first = server.decompress(bomb)
    assert len(first) == MAX_INFLATE_STEP
    assert server.has_pending
    total = len(first)
    while server.has_pending:
        step = server.decompress()
        assert len(step) <= MAX_INFLATE_STEP
        total += len(step)
    assert total == 5 * MAX_INFLATE_STEP


def test_garbage_is_an_error() -> None:
    with pytest.raises(CompressionError):
        Deflate().decompress(b"\xff\xff\xff\xff garbage")


def test_zlib_header_is_refused() -> None:
    """RFC 4978 wants raw deflate: a zlib-wrapped stream is a broken client."""
    with pytest.raises(CompressionError):
        Deflate().decompress(zlib.compress(b"a NOOP\r\n"))


@given(st.lists(st.binary(max_size=300), max_size=8), st.integers(1, 64))
def test_round_trip_in_any_chunking(batches: list[bytes], chunk: int) -> None:
    server = Deflate()
    deflate, inflate = client_pair()
    sent = b"".join(batches)
    wire = b"".join(deflate.compress(b) + deflate.flush(zlib.Z_SYNC_FLUSH) for b in batches)
    got = b"".join(server.decompress(wire[i : i + chunk]) for i in range(0, len(wire), chunk))
    assert got == sent
    for batch in batches:
        assert inflate.decompress(server.compress(batch)) == batch
