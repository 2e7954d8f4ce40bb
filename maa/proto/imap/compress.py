"""COMPRESS=DEFLATE (RFC 4978) as a byte transform the glue puts around the connection.

Both directions are raw deflate (RFC 1951, no zlib header: ``wbits=-15``). Each batch of
responses is followed by a ``Z_SYNC_FLUSH`` so the client can decode it at once. Input is
inflated in bounded steps: a few kilobytes of deflate can expand to gigabytes, so at most
``MAX_INFLATE_STEP`` bytes come out per call and the rest waits in zlib until the core has
taken what it was given (the glue stops reading the socket meanwhile).
"""

from __future__ import annotations

import zlib

from maa.proto.imap import limits

# Raw deflate, as RFC 4978 section 4 requires; 15 is zlib's largest window.
WBITS = -15

# Output of one inflate step. Bounded so that a decompression bomb produces at most this much
# plaintext before the framer's own limits (line length, literal size) see it; the unused
# input stays inside zlib (``unconsumed_tail``) until the next step.
MAX_INFLATE_STEP = limits.MAX_PIPELINED


class CompressionError(Exception):
    """The client's deflate stream is corrupt: the connection cannot go on."""


class Deflate:
    """The server's end of a compressed connection."""

    def __init__(self, level: int = 6) -> None:
        self._out = zlib.compressobj(level, zlib.DEFLATED, WBITS)
        self._in = zlib.decompressobj(WBITS)
        self._pending = b""  # compressed input zlib has not consumed yet

    def compress(self, data: bytes) -> bytes:
        """Compress one batch of output and flush it, so the client sees it whole."""
        return self._out.compress(data) + self._out.flush(zlib.Z_SYNC_FLUSH)

    def decompress(self, data: bytes = b"") -> bytes:
        """Inflate what the client sent (and anything held back), at most
        ``MAX_INFLATE_STEP`` bytes at a time; call again with no data for the rest."""
        self._pending += data
        if not self._pending:
            return b""
        try:
            out = self._in.decompress(self._pending, MAX_INFLATE_STEP)
        except zlib.error as e:
            raise CompressionError(str(e)) from e
        self._pending = self._in.unconsumed_tail
        if self._in.eof:
            # The client ended its deflate stream: nothing may follow on this connection.
            raise CompressionError("client ended the compressed stream")
        return out

    @property
    def pending_size(self) -> int:
        return len(self._pending)

    @property
    def has_pending(self) -> bool:
        """Compressed input is still waiting to be inflated."""
        return bool(self._pending)
