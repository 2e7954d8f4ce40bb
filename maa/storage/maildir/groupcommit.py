"""Group commit: concurrent appends share one directory fsync and one uidlist write.

Each writer has already written and fsynced its own file. It then queues the file here and
waits; the first waiter to find no commit running becomes the leader, takes everything queued
at that moment and commits it as one batch while later arrivals queue for the next batch.
No writer returns before the batch holding its file is durable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Ticket(Generic[T, R]):
    __slots__ = ("done", "error", "item", "result")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = False
        self.result: R | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    def __init__(self, commit: Callable[[list[T]], list[R]]) -> None:
        self._commit = commit
        self._cond = threading.Condition()
        self._queue: list[_Ticket[T, R]] = []
        self._leading = False

    def submit(self, item: T) -> R:
        ticket: _Ticket[T, R] = _Ticket(item)
        with self._cond:
            self._queue.append(ticket)
            while not ticket.done and self._leading:
                self._cond.wait()
            if ticket.done:
                return self._outcome(ticket)
            self._leading = True
            batch, self._queue = self._queue, []
        try:
            results = self._commit([t.item for t in batch])
        except BaseException as error:
            for t in batch:
                t.error = error
        else:
            for t, result in zip(batch, results, strict=True):
                t.result = result
        finally:
            with self._cond:
                for t in batch:
                    t.done = True
                self._leading = False
                self._cond.notify_all()
        return self._outcome(ticket)

    @staticmethod
    def _outcome(ticket: _Ticket[T, R]) -> R:
        if ticket.error is not None:
            raise ticket.error
        return ticket.result  # type: ignore[return-value]
