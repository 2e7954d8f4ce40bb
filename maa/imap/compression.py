"""COMPRESS=DEFLATE in the glue: a transport wrapper that deflates every write.

The protocol swaps its transport for this wrapper after COMPRESS's tagged OK; everything it
writes afterwards (batches of responses, streamed literals) goes through one deflate stream
with a sync flush per write. Over TLS the wrapper sits above the TLS transport, so
compression happens inside the encryption (RFC 4978 section 6).
"""

from __future__ import annotations

from typing import Any

from maa.proto.imap.compress import Deflate


class DeflatingTransport:
    """Delegates everything to ``transport`` but compresses what is written."""

    def __init__(self, transport: Any, deflate: Deflate) -> None:
        self._transport = transport
        self._deflate = deflate

    def write(self, data: bytes) -> None:
        self._transport.write(self._deflate.compress(data))

    def writeSequence(self, data: list[bytes]) -> None:
        self.write(b"".join(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
