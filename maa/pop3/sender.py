"""Streams one message to the client as a Twisted push producer: a chunk at a time from the
storage stream through the ``MessageEncoder``, pausing whenever the transport's buffer is
full, so a 20 MB message is never whole in memory and a slow client holds back the reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

from maa.proto.pop3.encoder import MessageEncoder

# Bytes read from the message per step. 64 KiB matches Twisted's transport buffer size
# (the point past which it pauses its producer), so one read fills the buffer once, and a
# typical 30 KB message goes out in a single write.
CHUNK_SIZE = 64 * 1024


@implementer(IPushProducer)
class MessageSender:
    """``on_done(octets)`` is called once: with the encoded byte count when the message and
    its terminator are written, or with None if the connection went away first.
    ``on_progress`` is called after every chunk (to keep the idle timer quiet while a
    slow client downloads)."""

    def __init__(
        self,
        transport: Any,
        stream: BinaryIO,
        encoder: MessageEncoder,
        on_done: Callable[[int | None], None],
        on_progress: Callable[[], None] = lambda: None,
        header: bytes = b"",
    ) -> None:
        self._transport = transport
        # Encoded bytes not yet written: the reply's status line waits for the first chunk,
        # and each chunk for the next read to tell whether it is the last, so that a
        # message of one chunk goes out in one write with its status line and terminator.
        self._held: list[bytes] = [header] if header else []
        self._first = True
        self._written = False  # everything is written; done once the transport takes more
        self._stream = stream
        self._encoder = encoder
        self._on_done = on_done
        self._on_progress = on_progress
        self._paused = False
        self._finished = False
        self.error: OSError | None = None  # why the stream broke off, if it did

    def start(self) -> None:
        self._transport.registerProducer(self, True)
        self._pump()

    def _pump(self) -> None:
        while not self._paused and not self._finished:
            if self._written:
                # Finished only when the transport is not asking us to wait: the next RETR
                # of a pipeline starts when this one is done, and must not pile onto a
                # full buffer.
                self._finish(self._encoder.octets)
                return
            try:
                chunk = self._stream.read(CHUNK_SIZE)
            except OSError as e:
                # Half a message is on the wire: there is no way back to a valid reply.
                self.error = e
                self._finish(None)
                self._transport.abortConnection()
                return
            parts = self._encoder.feed_parts(chunk) if chunk else []
            if chunk:
                self._on_progress()
            if chunk and not self._encoder.done:
                if self._first:
                    self._first = False
                else:
                    self._write_held()
                self._held += parts
                continue
            self._held += parts
            self._held.append(self._encoder.finish())
            self._written = True
            self._write_held()

    def _write_held(self) -> None:
        held, self._held = self._held, []
        if len(held) == 1:
            self._transport.write(held[0])
        elif held:
            self._transport.writeSequence(held)

    def _finish(self, octets: int | None) -> None:
        if self._finished:
            return
        self._finished = True
        self._stream.close()
        self._transport.unregisterProducer()
        self._on_done(octets)

    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused = False
        self._pump()

    def stopProducing(self) -> None:
        self._finish(None)
