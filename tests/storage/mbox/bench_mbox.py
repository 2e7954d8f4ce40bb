"""Rough figures for the mbox driver beside the Maildir one (not a test: timings depend on
the machine). Run from the repository: ``python tests/storage/mbox/bench_mbox.py [DIR]``."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from maa.storage import open_store
from maa.storage.mbox import MboxStore

BIG = b"Subject: big\r\n\r\n" + (b"QUJD" * 19 + b"\r\n") * (20 * 1024 * 1024 // 78)
SMALL = b"From: a@b\r\nTo: c@d\r\nSubject: hello\r\n\r\n" + b"line of text here\r\n" * 150


def timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


def drivers(base: Path) -> None:
    for driver in ("mbox", "maildir"):
        inbox = open_store(f"{driver}:{base / driver}").folder("INBOX")
        start = time.perf_counter()
        big = inbox.append(BIG)
        appended = time.perf_counter() - start
        start = time.perf_counter()
        inbox.read(big)
        read = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(200):
            inbox.append(SMALL)
        small = time.perf_counter() - start
        print(
            f"{driver:8} 20 MB append {appended:.2f}s, read {read:.2f}s;"
            f" 200 small appends {small:.2f}s ({200 / small:.0f}/s)"
        )


def big_folder(base: Path, count: int = 50_000) -> None:
    root = base / "big"
    root.mkdir()
    with open(root / "inbox", "wb") as mbox:
        for n in range(count):
            mbox.write(b"From a@b.test Mon Nov  3 14:02:11 2025\nSubject: %d\n\n" % n)
            mbox.write(b"body line\n" * 60 + b"\n")
    store = MboxStore(root)
    inbox = store.folder("INBOX")
    first = timed(inbox.messages)
    refresh = timed(lambda: [inbox.refresh() for _ in range(100)]) / 100
    inbox.append(SMALL)
    append = timed(lambda: inbox.append(SMALL))
    uid = inbox.messages()[count // 2].uid
    inbox.store_flags([uid], ["\\Deleted"], "add")
    expunge = timed(inbox.expunge)
    store.close()
    reopen = timed(lambda: MboxStore(root).folder("INBOX").messages())
    print(
        f"{count} messages: first index {first:.2f}s, refresh {refresh * 1e6:.0f}us,"
        f" append {append * 1000:.1f}ms, expunge one {expunge:.2f}s, reopen {reopen:.2f}s"
    )


if __name__ == "__main__":
    base = Path(tempfile.mkdtemp(prefix="maa-bench-", dir=sys.argv[1] if sys.argv[1:] else None))
    try:
        drivers(base)
        big_folder(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
