"""Group commit: writers that arrive during a commit share the next one, each gets its own
result, a failed commit fails every writer of its batch only, and the lead passes on; the
same for writers that do not wait but are told through a Future."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

import pytest

from maa.storage.maildir.groupcommit import GroupCommit

T = TypeVar("T")
R = TypeVar("R")

TIMEOUT = 30


def run_all(threads: list[threading.Thread]) -> None:
    """Start the writers and wait for them all: none may be left waiting for a lead that
    was never passed on."""
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads)


def one_step(commit: Callable[[list[T]], list[R]]) -> Callable[[list[T], list[T]], list[R]]:
    """A commit for items with no first step (nothing is ``staged``)."""

    def rounds(finish: list[T], start: list[T]) -> list[R]:
        assert start == []
        return commit(finish)

    return rounds


def test_writers_arriving_during_a_commit_share_the_next_one() -> None:
    batches: list[list[int]] = []
    first_running = threading.Event()
    release_first = threading.Event()

    def commit(items: list[int]) -> list[int]:
        batches.append(list(items))
        if len(batches) == 1:
            first_running.set()
            assert release_first.wait(TIMEOUT)
        return [item * 10 for item in items]

    group: GroupCommit[int, int] = GroupCommit(one_step(commit))
    results: dict[int, int] = {}

    def submit(n: int) -> None:
        results[n] = group.submit(n)

    leader = threading.Thread(target=submit, args=(0,))
    leader.start()
    assert first_running.wait(TIMEOUT)
    followers = [threading.Thread(target=submit, args=(n,)) for n in range(1, 6)]
    for t in followers:
        t.start()
    # Every follower is queued behind the running commit before it ends.
    deadline = time.monotonic() + TIMEOUT
    while len(group._queue) < 5:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    release_first.set()
    for t in [leader, *followers]:
        t.join(TIMEOUT)
    assert batches[0] == [0]
    assert sorted(batches[1]) == [1, 2, 3, 4, 5] and len(batches) == 2
    assert results == {n: n * 10 for n in range(6)}


def test_a_failed_commit_fails_its_batch_and_the_next_one_runs() -> None:
    calls = 0

    def commit(items: list[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk full")
        return [item.upper() for item in items]

    group: GroupCommit[str, str] = GroupCommit(one_step(commit))
    with pytest.raises(OSError, match="disk full"):
        group.submit("a")
    assert group.submit("b") == "B"


def test_many_writers_each_get_their_own_result() -> None:
    sizes: list[int] = []

    def commit(items: list[tuple[int, int]]) -> list[tuple[int, int]]:
        sizes.append(len(items))
        return list(items)

    group: GroupCommit[tuple[int, int], tuple[int, int]] = GroupCommit(one_step(commit))
    wrong: list[tuple[int, int]] = []

    def writer(w: int) -> None:
        for n in range(200):
            if group.submit((w, n)) != (w, n):
                wrong.append((w, n))

    run_all([threading.Thread(target=writer, args=(w,)) for w in range(8)])
    assert wrong == []
    assert sum(sizes) == 8 * 200


def test_writers_that_do_not_wait_get_their_results_through_futures() -> None:
    batches: list[list[int]] = []
    committer: list[str] = []

    def commit(items: list[int]) -> list[int]:
        batches.append(list(items))
        committer.append(threading.current_thread().name)
        return [item + 100 for item in items]

    group: GroupCommit[int, int] = GroupCommit(one_step(commit))
    futures = [group.submit_async(n) for n in range(50)]
    assert [f.result(TIMEOUT) for f in futures] == [n + 100 for n in range(50)]
    assert sorted(n for batch in batches for n in batch) == list(range(50))
    # Committed by the shared pool, not by the thread that queued them.
    assert threading.current_thread().name not in committer


def test_a_failed_commit_fails_the_futures_of_its_batch_only() -> None:
    release = threading.Event()
    calls = 0

    def commit(items: list[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            assert release.wait(TIMEOUT)
            raise OSError("disk full")
        return [item.upper() for item in items]

    group: GroupCommit[str, str] = GroupCommit(one_step(commit))
    first = group.submit_async("a")
    deadline = time.monotonic() + TIMEOUT
    while not group._leading or group._queue:  # "a" is being committed
        assert time.monotonic() < deadline
        time.sleep(0.001)
    second = group.submit_async("b")
    release.set()
    with pytest.raises(OSError, match="disk full"):
        first.result(TIMEOUT)
    assert second.result(TIMEOUT) == "B"


def test_the_lead_passes_between_waiting_writers_and_the_pool() -> None:
    """Waiting and non-waiting writers mixed: a waiting leader hands the lead to the pool
    when the next in line has no thread, the pool commits waiting writers' items too, and
    every writer hears of its own result."""
    sizes: list[int] = []

    def commit(items: list[tuple[int, int]]) -> list[tuple[int, int]]:
        sizes.append(len(items))
        time.sleep(0.0005)  # long enough for others to queue behind
        return list(items)

    group: GroupCommit[tuple[int, int], tuple[int, int]] = GroupCommit(one_step(commit))
    wrong: list[tuple[int, int]] = []

    def waiting(w: int) -> None:
        for n in range(100):
            if group.submit((w, n)) != (w, n):
                wrong.append((w, n))

    def not_waiting(w: int) -> None:
        for n in range(100):
            future = group.submit_async((w, n))
            if n % 10 == 0 and future.result(TIMEOUT) != (w, n):
                wrong.append((w, n))
            futures.append((future, (w, n)))

    futures: list[tuple[Future[tuple[int, int]], tuple[int, int]]] = []
    threads = [threading.Thread(target=waiting, args=(w,)) for w in range(4)]
    run_all(threads + [threading.Thread(target=not_waiting, args=(w,)) for w in range(4, 8)])
    for future, item in futures:
        if future.result(TIMEOUT) != item:
            wrong.append(item)
    assert wrong == []
    assert sum(sizes) == 8 * 100
    assert max(sizes) > 1  # they did share commits
    assert not group._leading and not group._queue


def test_a_staged_item_is_finished_by_the_round_after_the_one_that_started_it() -> None:
    rounds: list[tuple[list[int], list[int]]] = []

    def commit(finish: list[int], start: list[int]) -> list[int]:
        rounds.append((list(finish), list(start)))
        return [-n for n in finish]

    group: GroupCommit[int, int] = GroupCommit(commit, staged=lambda n: n > 0)
    assert group.submit(7) == -7
    assert rounds == [([], [7]), ([7], [])]
    rounds.clear()
    assert group.submit(0) == 0  # nothing to start: one round
    assert rounds == [([0], [])]


def test_under_load_each_round_finishes_one_batch_and_starts_the_next() -> None:
    """Writers that queue while a round runs are started by the next round and finished by
    the one after: one commit call per batch, not two."""
    rounds: list[tuple[list[tuple[int, int]], list[tuple[int, int]]]] = []
    started: set[tuple[int, int]] = set()
    wrong: list[str] = []

    def commit(
        finish: list[tuple[int, int]], start: list[tuple[int, int]]
    ) -> list[tuple[int, int]]:
        rounds.append((list(finish), list(start)))
        if any(item not in started for item in finish):
            wrong.append(f"finished before started: {finish}")
        started.update(start)
        time.sleep(0.001)
        return list(finish)

    group: GroupCommit[tuple[int, int], tuple[int, int]] = GroupCommit(
        commit, staged=lambda item: True
    )

    def writer(w: int) -> None:
        for n in range(50):
            if group.submit((w, n)) != (w, n):
                wrong.append(f"wrong result for {(w, n)}")

    run_all([threading.Thread(target=writer, args=(w,)) for w in range(8)])
    assert wrong == []
    finished = [item for finish, _ in rounds for item in finish]
    assert sorted(finished) == sorted((w, n) for w in range(8) for n in range(50))
    # Most rounds did both: finished a batch and started another.
    both = sum(1 for finish, start in rounds if finish and start)
    assert both > len(rounds) / 2


def test_a_failed_round_fails_what_it_finished_and_what_it_started() -> None:
    release = threading.Event()
    calls = 0

    def commit(finish: list[str], start: list[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            assert release.wait(TIMEOUT)
        if calls == 2:
            raise OSError("disk gone")
        return [item.upper() for item in finish]

    group: GroupCommit[str, str] = GroupCommit(commit, staged=lambda item: True)
    first = group.submit_async("a")  # round 1 starts it
    deadline = time.monotonic() + TIMEOUT
    while not group._leading or group._queue:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    second = group.submit_async("b")  # round 2 would finish "a" and start "b"
    release.set()
    for future in (first, second):
        with pytest.raises(OSError, match="disk gone"):
            future.result(TIMEOUT)
    assert group.submit("c") == "C"
