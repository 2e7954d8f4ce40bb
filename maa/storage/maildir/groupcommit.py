"""Group commit: concurrent appends share their syncs and one uidlist write.

Each writer has already written its own file. It then queues the file here; the first to
find no commit running becomes the leader and commits everything queued at that moment as
one batch, while later arrivals queue for the next batch. No writer is told it is done
before the batch holding its file is durable. A batch whose items need two steps (a file's
data synced before its name) is taken through them by two rounds, each round finishing the
batch before it and starting the one after (see ``GroupCommit``).

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
    """``commit(finish, start)`` is called once per round, one round at a time. It makes the
    ``finish`` items durable and returns their results; the ``start`` items (those for
    which ``staged`` is true) it takes the first step for, and they are finished by the next
    round. A round whose one sync makes the last batch's names durable and this batch's data
    is how appends cost one sync per batch and still never name a file whose data a crash
    could lose."""

    def __init__(
        self,
        commit: Callable[[list[T], list[T]], list[R]],
        staged: Callable[[T], bool] = lambda item: False,
    ) -> None:
        self._commit = commit
        self._staged = staged
        self._mutex = threading.Lock()
        self._queue: list[_Ticket[T, R]] = []
        self._started: list[_Ticket[T, R]] = []  # first step taken, to finish next round
        self._leading = False

    def submit(self, item: T) -> R:
        """Queue ``item`` and return its result once it is committed."""
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
            # Made the leader: the round before has ended.
        self._lead(ticket)
        return self._outcome(ticket)

    def submit_async(self, item: T) -> Future[R]:
        """Queue ``item`` and return at once. The Future is resolved, in the committing
        thread, once ``item`` is committed (or its round has failed)."""
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
        """Run rounds until ``own`` (a waiting writer's ticket) is done, or, for
        ``own=None`` (a pool thread), until nothing is left."""
        while True:
            with self._mutex:
                queued, self._queue = self._queue, []
                finishing = self._started + [t for t in queued if not self._staged(t.item)]
                starting = [t for t in queued if self._staged(t.item)]
                self._started = []
            told = finishing
            try:
                results = self._commit([t.item for t in finishing], [t.item for t in starting])
            except BaseException as error:
                told = finishing + starting
                for t in told:
                    t.error = error
            else:
                for t, result in zip(finishing, results, strict=True):
                    t.result = result
            for t in told:
                t.done = True
            with self._mutex:
                if told is finishing:
                    self._started = starting
                waiting = self._started + self._queue
                self._leading = bool(waiting)
            for t in told:
                if t is not own:
                    self._tell(t)
            if not waiting:
                return
            if own is None or not own.done:
                continue
            # Our own is done: pass the lead on, to a waiting writer or else to the pool.
            successor = next((t for t in waiting if t.wake is not None), None)
            if successor is not None:
                assert successor.wake is not None
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
