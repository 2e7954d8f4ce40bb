"""Group commit: writers that arrive during a commit share the next one, each gets its own
result, a failed commit fails every writer of its batch only, and the lead passes on; the
same for writers that do not wait but are told through a Future."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import pytest

from maa.storage.maildir.groupcommit import GroupCommit

TIMEOUT = 30


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

    group: GroupCommit[int, int] = GroupCommit(commit)
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

    group: GroupCommit[str, str] = GroupCommit(commit)
    with pytest.raises(OSError, match="disk full"):
        group.submit("a")
    assert group.submit("b") == "B"


def test_many_writers_each_get_their_own_result() -> None:
    sizes: list[int] = []

    def commit(items: list[tuple[int, int]]) -> list[tuple[int, int]]:
        sizes.append(len(items))
        return list(items)

    group: GroupCommit[tuple[int, int], tuple[int, int]] = GroupCommit(commit)
    wrong: list[tuple[int, int]] = []

    def writer(w: int) -> None:
        for n in range(200):
            if group.submit((w, n)) != (w, n):
                wrong.append((w, n))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads)  # the lead always passed on
    assert wrong == []
    assert sum(sizes) == 8 * 200


def test_writers_that_do_not_wait_get_their_results_through_futures() -> None:
    batches: list[list[int]] = []
    committer: list[str] = []

    def commit(items: list[int]) -> list[int]:
        batches.append(list(items))
        committer.append(threading.current_thread().name)
        return [item + 100 for item in items]

    group: GroupCommit[int, int] = GroupCommit(commit)
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

    group: GroupCommit[str, str] = GroupCommit(commit)
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

    group: GroupCommit[tuple[int, int], tuple[int, int]] = GroupCommit(commit)
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
    threads += [threading.Thread(target=not_waiting, args=(w,)) for w in range(4, 8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads)
    for future, item in futures:
        if future.result(TIMEOUT) != item:
            wrong.append(item)
    assert wrong == []
    assert sum(sizes) == 8 * 100
    assert max(sizes) > 1  # they did share commits
    assert not group._leading and not group._queue
