"""Group commit: concurrent appends share one directory fsync and one uidlist write.

Each writer has already written its own file. It then queues the file here; the first to
find no commit running becomes the leader and commits everything queued at that moment as
one batch, while later arrivals queue for the next batch. No writer is told it is done
before the batch holding its file is durable.

A writer either waits (``submit``) or is told later (``submit_async``, a Future). Waiting
writers sleep on a lock of their own: the leader wakes the writers of its batch, and hands
the lead to the first writer queued meanwhile, instead of waking every waiter to look
(those of the next batch would only go back to sleep, each costing a thread switch and a
turn of the GIL that the next commit is waiting for). Writers that do not wait have no
thread to lead with: when one finds no commit running, or is next in line after a waiting
leader, the batches are committed by a thread of a small shared pool, which goes on as long
as anything is queued. That lets a server write a small message from its event loop and
hand only the wait for the disk to another thread: one thread sleeping in the sync for
the whole batch, where each waiting writer is a thread woken up, contending for the GIL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Folders committing at the same time, at most, for writers that do not wait (a folder
# commits one batch at a time, so more would only be more threads waiting on the disk).
COMMIT_THREADS = 8

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _run_in_pool(job: Callable[[], None]) -> None:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(COMMIT_THREADS, thread_name_prefix="group-commit")
        pool = _pool
    try:
        pool.submit(job)
    except RuntimeError:  # the interpreter is shutting down: commit here and now
        job()


class _Ticket(Generic[T, R]):
    __slots__ = ("done", "error", "future", "item", "result", "wake")

    def __init__(self, item: T, future: Future[R] | None) -> None:
        self.item = item
        self.done = False
        self.result: R | None = None
        self.error: BaseException | None = None
        self.future = future
        # A waiting writer's lock, held until the ticket's batch is committed or the ticket
        # is made the leader. None for a writer that does not wait.
        self.wake: threading.Lock | None = None
        if future is None:
            self.wake = threading.Lock()
            self.wake.acquire()


class GroupCommit(Generic[T, R]):
    def __init__(self, commit: Callable[[list[T]], list[R]]) -> None:
        self._commit = commit
        self._mutex = threading.Lock()
        self._queue: list[_Ticket[T, R]] = []
        self._leading = False

    def submit(self, item: T) -> R:
        """Queue ``item`` and return its result once its batch is committed."""
        ticket: _Ticket[T, R] = _Ticket(item, None)
        with self._mutex:
            self._queue.append(ticket)
            follow = self._leading
            self._leading = True
        if follow:
            assert ticket.wake is not None
            ticket.wake.acquire()
            if ticket.done:
                return self._outcome(ticket)
            # Made the leader: the commit before ours has ended.
        self._lead(ticket)
        return self._outcome(ticket)

    def submit_async(self, item: T) -> Future[R]:
        """Queue ``item`` and return at once. The Future is resolved, in the committing
        thread, once the batch holding ``item`` is committed (or has failed)."""
        future: Future[R] = Future()
        ticket: _Ticket[T, R] = _Ticket(item, future)
        with self._mutex:
            self._queue.append(ticket)
            lead = not self._leading
            self._leading = True
        if lead:
            _run_in_pool(self._drain)
        return future

    def _drain(self) -> None:
        self._lead(None)

    def _lead(self, own: _Ticket[T, R] | None) -> None:
        """Commit batches: the one holding ``own`` (a waiting writer's ticket), or, for
        ``own=None`` (a pool thread), every batch until nothing is queued."""
        while True:
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
                    if t is not own:
                        self._tell(t)
            if successor is None:
                return
            if own is not None:
                # Pass the lead on, to the next waiting writer or else to the pool.
                if successor.wake is not None:
                    successor.wake.release()
                else:
                    _run_in_pool(self._drain)
                return

    @staticmethod
    def _tell(ticket: _Ticket[T, R]) -> None:
        if ticket.wake is not None:
            ticket.wake.release()
            return
        assert ticket.future is not None
        if ticket.error is not None:
            ticket.future.set_exception(ticket.error)
        else:
            ticket.future.set_result(ticket.result)  # type: ignore[arg-type]

    @staticmethod
    def _outcome(ticket: _Ticket[T, R]) -> R:
        if ticket.error is not None:
            raise ticket.error
        return ticket.result  # type: ignore[return-value]
