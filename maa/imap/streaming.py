"""Large message literals go out straight from the message file, a chunk at a time, through
a Twisted pull producer, so a 50 MB FETCH never sits whole in memory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO

from twisted.internet import defer
from twisted.internet.interfaces import IPullProducer
from zope.interface import implementer

from maa.storage.interface import Folder

# Messages (or ranges) above this size are streamed from the file instead of being read into
# memory; below it, one read and one write are cheaper than a producer.
STREAM_THRESHOLD = 256 * 1024
# Bytes per write while streaming: large enough to keep the socket busy, small enough that a
# slow client does not make us buffer much.
STREAM_CHUNK = 64 * 1024


@dataclass(frozen=True)
class StreamedLiteral:
    """The content of a literal whose ``{n}`` header has already been queued."""

    folder: Folder
    uid: int
    offset: int
    length: int


@implementer(IPullProducer)
class LiteralProducer:
    def __init__(self, piece: StreamedLiteral, transport: Any, count: Any) -> None:
        self.piece = piece
        self.transport = transport
        self.count = count  # called with each chunk's size (bytes-out accounting)
        self.done: defer.Deferred[None] = defer.Deferred()
        self._stream: BinaryIO | None = None
        self._skip = piece.offset
        self._left = piece.length

    def start(self) -> defer.Deferred[None]:
        if self._left == 0:
            self.done.callback(None)
            return self.done
        self._stream = self.piece.folder.open(self.piece.uid)
        self.transport.registerProducer(self, False)
        return self.done

    def resumeProducing(self) -> None:
        stream = self._stream
        if stream is None:
            return
        while self._skip:
            skipped = stream.read(min(self._skip, STREAM_CHUNK))
            if not skipped:
                break
            self._skip -= len(skipped)
        chunk = stream.read(min(self._left, STREAM_CHUNK))
        if not chunk:
            # The file is shorter than its indexed size: nothing we send can repair the
            # literal, so the connection has to go.
            self._finish(OSError(f"message {self.piece.uid} shorter than its size"))
            return
        self._left -= len(chunk)
        self.count(len(chunk))
        self.transport.write(chunk)
        if self._left == 0:
            self._finish(None)

    def stopProducing(self) -> None:
        self._finish(ConnectionError("connection lost while streaming"))

    def _finish(self, error: Exception | None) -> None:
        if self._stream is None:
            return
        self._stream.close()
        self._stream = None
        self.transport.unregisterProducer()
        if error is None:
            self.done.callback(None)
        else:
            self.done.errback(error)
