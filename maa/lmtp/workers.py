"""The threads LMTP deliveries run in. A delivery blocks until its message is durable (the
file and its directory entry synced), so it cannot run in the reactor; each accepted
recipient of each message is one job. A small message into a folder already open is
started in the reactor instead (``lda.begin_deliver``) and only watched from here.

Twisted's reactor thread pool would do, but every job there goes through a coordinator, a
worker team and a context call: about 60 us of CPU per job, against 20 here, most of it
holding the GIL that the deliveries' own commits and the reactor are waiting for.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import Future
from typing import Any, TypeVar

from twisted.internet.defer import Deferred, fail
from twisted.python.failure import Failure

T = TypeVar("T")

# Deliveries running at once, at most. Concurrent appends to one folder share a commit (one
# sync for the batch), so this is how many messages a commit can take; more threads than
# the disk can keep busy only wait.
MAX_THREADS = 32

_Job = tuple[Callable[..., Any], tuple[Any, ...], Deferred[Any]]


class DeliveryThreads:
    """Runs blocking calls in threads started as needed (up to ``limit``), and fires each
    call's Deferred in the reactor thread. Stops with the reactor, after the jobs given."""

    def __init__(self, reactor: Any, limit: int = MAX_THREADS) -> None:
        self._reactor = reactor
        self._limit = limit
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = 0  # threads free for a job not yet handed out
        self._queued = 0  # jobs waiting for a thread to come free (all were busy)
        self._stopped = False
        self._started: set[Future[Any]] = set()  # given to ``watch``, not yet done
        reactor.addSystemEventTrigger("during", "shutdown", self.stop)

    def run(self, f: Callable[..., T], *args: Any) -> Deferred[T]:
        d: Deferred[T] = Deferred()
        spawn = False
        with self._lock:
            if self._stopped:  # the server is shutting down: the client will try again
                return fail(RuntimeError("delivery threads stopped"))
            if self._idle:
                self._idle -= 1  # that thread takes this job
            elif len(self._threads) < self._limit:
                spawn = True
            else:
                self._queued += 1
            self._jobs.put((f, args, d))
            if spawn:
                thread = threading.Thread(target=self._work, name="lmtp-delivery", daemon=True)
                self._threads.append(thread)
                thread.start()
        return d

    def watch(self, future: Future[T]) -> Deferred[T]:
        """A Deferred fired in the reactor thread with ``future``'s outcome: for work started
        without a thread of its own here (``lda.begin_deliver``), which ``stop`` waits for
        too."""
        d: Deferred[T] = Deferred()
        with self._lock:
            self._started.add(future)

        def finished(future: Future[T]) -> None:
            with self._lock:
                self._started.discard(future)
            error = future.exception()
            if error is None:
                self._reactor.callFromThread(d.callback, future.result())
            else:
                self._reactor.callFromThread(d.errback, Failure(error))

        future.add_done_callback(finished)
        return d

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            f, args, d = job
            try:
                result = f(*args)
            except BaseException:
                self._reactor.callFromThread(d.errback, Failure())
            else:
                self._reactor.callFromThread(d.callback, result)
            del job, f, args, d  # hold nothing of a finished delivery while idle
            with self._lock:
                if self._queued:
                    self._queued -= 1
                else:
                    self._idle += 1

    def stop(self) -> None:
        """Let the jobs given finish, then end the threads (the reactor's shutdown waits)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            threads = list(self._threads)
            started = list(self._started)
        futures.wait(started)
        for _ in threads:
            self._jobs.put(None)
        for thread in threads:
            thread.join()


_BY_REACTOR: dict[int, DeliveryThreads] = {}
_BY_REACTOR_LOCK = threading.Lock()


def delivery_threads(reactor: Any) -> DeliveryThreads:
    """The one set of delivery threads of ``reactor`` (every LMTP listener shares it)."""
    with _BY_REACTOR_LOCK:
        threads = _BY_REACTOR.get(id(reactor))
        if threads is None or threads._stopped:
            threads = _BY_REACTOR[id(reactor)] = DeliveryThreads(reactor)
        return threads
