"""Group commit: concurrent appends share one directory fsync and one uidlist write.

Each writer has already written its own file. It then queues the file here; the first to
find no commit running becomes the leader and commits everything queued at that moment as
one batch, while later arrivals queue for the next batch. No writer returns before the
batch holding its file is durable.

Each waiter sleeps on a lock of its own: the leader wakes the writers of its batch, and
hands the lead to the first writer queued meanwhile, instead of waking every waiter to
look (those of the next batch would only go back to sleep, each costing a thread switch
and a turn of the GIL that the next commit is waiting for).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Ticket(Generic[T, R]):
    __slots__ = ("done", "error", "item", "result", "wake")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = False
        self.result: R | None = None
        self.error: BaseException | None = None
        # Held until the ticket's batch is committed or the ticket is made the leader.
        self.wake = threading.Lock()
        self.wake.acquire()


class GroupCommit(Generic[T, R]):
    def __init__(self, commit: Callable[[list[T]], list[R]]) -> None:
        self._commit = commit
        self._mutex = threading.Lock()
        self._queue: list[_Ticket[T, R]] = []
        self._leading = False

    def submit(self, item: T) -> R:
        ticket: _Ticket[T, R] = _Ticket(item)
        with self._mutex:
            self._queue.append(ticket)
            follow = self._leading
            self._leading = True
        if follow:
            ticket.wake.acquire()
            if ticket.done:
                return self._outcome(ticket)
            # Made the leader: the commit before ours has ended.
        with self._mutex:
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
            for t in batch:
                t.done = True
            with self._mutex:
                successor = self._queue[0] if self._queue else None
                self._leading = successor is not None
            for t in batch:
                if t is not ticket:
                    t.wake.release()
            if successor is not None:
                successor.wake.release()
        return self._outcome(ticket)

    @staticmethod
    def _outcome(ticket: _Ticket[T, R]) -> R:
        if ticket.error is not None:
            raise ticket.error
        return ticket.result  # type: ignore[return-value]
