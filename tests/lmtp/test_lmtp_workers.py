"""The LMTP delivery threads: blocking calls run concurrently, results and failures come back
in the reactor thread, jobs past the limit wait their turn, and stopping finishes them; work
started elsewhere and only watched answers the same way, and stopping waits for it too."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

import pytest
import pytest_twisted

from maa.lmtp.workers import DeliveryThreads

# A barrier that is not passed in this long means the jobs did not run at once.
BARRIER_TIMEOUT = 30


class _Reactor:
    """The real reactor, with the shutdown trigger kept back: these tests stop their own
    threads, and the test reactor never shuts down."""

    def __init__(self) -> None:
        from twisted.internet import reactor

        self._reactor: Any = reactor

    def callFromThread(self, f: Any, *args: Any) -> None:
        self._reactor.callFromThread(f, *args)

    def addSystemEventTrigger(self, *args: Any) -> None:
        pass


@pytest_twisted.inlineCallbacks
def test_jobs_run_at_once_and_answer_in_the_reactor_thread() -> Any:
    threads = DeliveryThreads(_Reactor(), limit=4)
    barrier = threading.Barrier(4, timeout=BARRIER_TIMEOUT)

    def job(n: int) -> tuple[int, int]:
        barrier.wait()  # only passes when all four run in threads of their own
        return n * 10, threading.get_ident()

    try:
        results = []
        for d in [threads.run(job, n) for n in range(4)]:
            results.append((yield d))
            assert threading.current_thread() is threading.main_thread()
        assert [r[0] for r in results] == [0, 10, 20, 30]
        assert len({r[1] for r in results}) == 4
    finally:
        threads.stop()


@pytest_twisted.inlineCallbacks
def test_a_failing_job_fails_its_deferred_only() -> Any:
    threads = DeliveryThreads(_Reactor(), limit=2)

    def boom() -> None:
        raise OSError("disk on fire")

    try:
        with pytest.raises(OSError, match="disk on fire"):
            yield threads.run(boom)
        assert (yield threads.run(lambda: "next")) == "next"
    finally:
        threads.stop()


@pytest_twisted.inlineCallbacks
def test_jobs_past_the_limit_wait_for_a_free_thread() -> Any:
    threads = DeliveryThreads(_Reactor(), limit=2)
    release = threading.Event()
    running = threading.Semaphore(0)

    def held(n: int) -> int:
        running.release()
        assert release.wait(BARRIER_TIMEOUT)
        return n

    try:
        pending = [threads.run(held, n) for n in range(5)]
        assert running.acquire(timeout=BARRIER_TIMEOUT)
        assert running.acquire(timeout=BARRIER_TIMEOUT)
        assert len(threads._threads) == 2  # the other three wait in the queue
        release.set()
        results = []
        for d in pending:
            results.append((yield d))
        assert results == [0, 1, 2, 3, 4]
        assert len(threads._threads) == 2
    finally:
        threads.stop()


def test_stop_finishes_the_jobs_given_and_refuses_new_ones() -> None:
    threads = DeliveryThreads(_Reactor(), limit=1)
    done: list[int] = []
    threads.run(lambda: done.append(1))
    threads.run(lambda: done.append(2))
    threads.stop()
    assert done == [1, 2]
    failed: list[Any] = []
    threads.run(lambda: None).addErrback(failed.append)
    assert failed and failed[0].check(RuntimeError)


@pytest_twisted.inlineCallbacks
def test_watched_work_answers_in_the_reactor_thread() -> Any:
    threads = DeliveryThreads(_Reactor())
    ok: Future[int] = Future()
    bad: Future[int] = Future()
    try:
        got = threads.watch(ok)
        failed = threads.watch(bad)
        threading.Thread(target=ok.set_result, args=(42,)).start()
        threading.Thread(target=bad.set_exception, args=(OSError("gone"),)).start()
        assert (yield got) == 42
        assert threading.current_thread() is threading.main_thread()
        with pytest.raises(OSError, match="gone"):
            yield failed
    finally:
        threads.stop()


def test_stop_waits_for_watched_work_to_end() -> None:
    threads = DeliveryThreads(_Reactor())
    pending: Future[int] = Future()
    threads.watch(pending)
    timer = threading.Timer(0.2, pending.set_result, args=(1,))
    timer.start()
    threads.stop()
    assert pending.done()
