"""Many writers at once, in threads and in processes, and writers killed mid-append."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from maa.storage import INBOX
from maa.storage.maildir import MaildirStore
from maa.storage.maildir.filename import parse, sizes

REPO = Path(__file__).resolve().parents[3]

# A child that appends forever from several threads and prints "uid tag" once append returned.
WRITER = r"""
import sys, threading
from maa.storage import open_store

folder = open_store("maildir:" + sys.argv[1]).folder("INBOX")
start = int(sys.argv[2])
count = int(sys.argv[3])
threads = int(sys.argv[4])
out = threading.Lock()

def body(tag):
    size = (tag * 7919) % 30000 + 50
    head = b"Subject: m%d\r\n\r\n" % tag
    return head + bytes(range(33, 127)) * (size // 94) + b"\r\nEND %d\r\n" % tag

def work(t):
    n = 0
    while count < 0 or n < count:
        tag = start + t * 1_000_000 + n
        uid = folder.append(body(tag))
        with out:
            sys.stdout.write(f"{uid} {tag}\n")
            sys.stdout.flush()
        n += 1

workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
"""


def body(tag: int) -> bytes:
    size = (tag * 7919) % 30000 + 50
    return (
        b"Subject: m%d\r\n\r\n" % tag
        + bytes(range(33, 127)) * (size // 94)
        + b"\r\nEND %d\r\n" % tag
    )


def writer(root: Path, start: int, count: int, threads: int) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), str(start), str(count), str(threads)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_fifty_threads_append_without_loss(tmp_path: Path) -> None:
    store = MaildirStore(tmp_path / "md")
    results: list[tuple[int, int]] = []
    lock = threading.Lock()

    def work(t: int) -> None:
        folder = store.folder(INBOX)
        for n in range(6):
            tag = t * 100 + n
            uid = folder.append(body(tag))
            with lock:
                results.append((uid, tag))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    uids = [uid for uid, _ in results]
    assert len(results) == 300 and len(set(uids)) == 300
    fresh = MaildirStore(tmp_path / "md").folder(INBOX)
    assert sorted(m.uid for m in fresh.messages()) == sorted(uids)
    for uid, tag in results:
        assert fresh.read(uid) == body(tag)


def test_two_processes_never_share_a_uid(tmp_path: Path) -> None:
    root = tmp_path / "md"
    MaildirStore(root).ensure_defaults()
    children = [writer(root, start, 30, 2) for start in (0, 500_000)]
    outputs = [child.communicate(timeout=120)[0] for child in children]
    assert all(child.returncode == 0 for child in children)
    printed = [tuple(map(int, line.split())) for out in outputs for line in out.splitlines()]
    assert len(printed) == 120
    assert len({uid for uid, _ in printed}) == 120
    inbox = MaildirStore(root).folder(INBOX)
    assert len(inbox.messages()) == 120
    for uid, tag in printed:
        assert inbox.read(uid) == body(tag)


@pytest.mark.slow
def test_kill_minus_nine_loses_nothing_acknowledged(tmp_path: Path) -> None:
    root = tmp_path / "md"
    MaildirStore(root).ensure_defaults()
    rng = random.Random(1234)
    printed: list[tuple[int, int]] = []
    for round_ in range(6):
        child = writer(root, round_ * 10_000, -1, 4)
        assert child.stdout is not None
        lines: list[str] = []
        reader = threading.Thread(target=lambda c=child, out=lines: out.extend(c.stdout))
        reader.start()
        deadline = time.monotonic() + 20
        while len(lines) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)  # wait until it is really appending
        time.sleep(rng.uniform(0.05, 0.6))
        child.send_signal(signal.SIGKILL)
        child.wait()
        reader.join()
        printed += [tuple(map(int, line.split())) for line in lines if line.endswith("\n")]
    assert len(printed) > 20
    assert len({uid for uid, _ in printed}) == len(printed)

    inbox = MaildirStore(root).folder(INBOX)
    present = {m.uid for m in inbox.messages()}
    for uid, tag in printed:
        assert uid in present
        assert inbox.read(uid) == body(tag)
    for sub in ("new", "cur"):
        for name in os.listdir(root / sub):
            size, _ = sizes(parse(name).base)
            data = (root / sub / name).read_bytes()
            assert size == len(data), name  # no partial file is ever visible
            assert data.endswith(b"\nEND %s\n" % data.split(b"\n", 1)[0][10:]), name
