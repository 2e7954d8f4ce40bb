"""Expunge rewrites, crashes, files rewritten by other programs, and big messages."""

from __future__ import annotations

import io
import mailbox
import os
import random
import re
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from maa.storage.interface import ANSWERED, DELETED, FLAGGED, SEEN
from maa.storage.mbox import MboxStore

REPO = Path(__file__).parents[2]


def numbered(n: int, size: int = 20_000) -> bytes:
    line = b"%05d " % n + b"x" * 70 + b"\r\n"
    return b"Subject: message %05d\r\n\r\n" % n + line * (size // len(line))


def independent_parse(path: Path) -> list[bytes]:
    """The messages of an mbox as Python's own mailbox module sees them (LF form), without
    the Content-Length header maa writes (these bodies hold no "From " lines, which Python's
    mailbox, knowing nothing of Content-Length, would take for separators)."""
    box = mailbox.mbox(path, create=False)
    try:
        return [_without_content_length(box.get_bytes(key)) for key in box.iterkeys()]
    finally:
        box.close()


def _without_content_length(message: bytes) -> bytes:
    header, blank, body = message.partition(b"\n\n")
    return re.sub(rb"(?im)^Content-Length:[^\n]*\n", b"", header + b"\n") + blank[1:] + body


def lf(message: bytes) -> bytes:
    return message.replace(b"\r\n", b"\n")


# A client expunging one message after another, forever, until it is killed.
EXPUNGER = r"""
import sys
from maa.storage.mbox import MboxStore
inbox = MboxStore(sys.argv[1]).folder("INBOX")
first = True
while True:
    infos = inbox.messages()
    if len(infos) <= 1:
        break
    inbox.store_flags([infos[0].uid], ["\\Deleted"], "add")
    inbox.expunge()
    if first:
        print("ready", flush=True)
        first = False
"""


@pytest.mark.slow
def test_expunge_killed_at_any_moment_leaves_the_old_or_the_new_file(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    store = MboxStore(root)
    inbox = store.folder("INBOX")
    originals = [numbered(n) for n in range(200)]
    inbox.append_many([(io.BytesIO(m), frozenset(), None) for m in originals])
    store.close()
    rng = random.Random(7)
    remaining = len(originals)
    for _ in range(5):
        with subprocess.Popen(
            [sys.executable, "-c", EXPUNGER, str(root)], cwd=REPO, stdout=subprocess.PIPE
        ) as child:
            assert child.stdout is not None
            assert child.stdout.readline() == b"ready\n"
            time.sleep(rng.uniform(0.0, 0.15))
            child.send_signal(signal.SIGKILL)
        found = independent_parse(root / "inbox")
        # Always a whole file: the last messages of the original list, each intact.
        assert 1 <= len(found) < remaining
        assert found == [lf(m) for m in originals[len(originals) - len(found) :]]
        remaining = len(found)
    # The index catches up with whatever the killed expunge left; the next writer breaks the
    # dotlock the killed process left and removes its temporary file.
    inbox = MboxStore(root).folder("INBOX")
    infos = inbox.messages()
    assert len(infos) == remaining
    for info, message in zip(infos, originals[len(originals) - remaining :], strict=True):
        assert inbox.read(info.uid) == message
    inbox.store_flags([infos[0].uid], [DELETED], "add")
    assert inbox.expunge() == [infos[0].uid]
    assert [p for p in os.listdir(root) if "maa-expunge" in p or p.endswith(".lock")] == []


def test_expunge_keeps_uids_flags_and_offsets_right(tmp_path: Path) -> None:
    inbox = MboxStore(tmp_path / "mail").folder("INBOX")
    uids = [inbox.append(numbered(n, 500), [FLAGGED] if n % 2 else []) for n in range(6)]
    inbox.store_flags([uids[1], uids[4]], [DELETED], "add")
    modseq = inbox.status().highestmodseq
    assert inbox.expunge() == [uids[1], uids[4]]
    assert [i.uid for i in inbox.messages()] == [uids[0], uids[2], uids[3], uids[5]]
    assert inbox.message(uids[3]).flags == {FLAGGED}
    for n in (0, 2, 3, 5):
        assert inbox.read(uids[n]) == numbered(n, 500)
    assert inbox.vanished_since(modseq) == [uids[1], uids[4]]
    assert inbox.status().highestmodseq > modseq
    assert independent_parse(tmp_path / "mail" / "inbox") == [
        lf(numbered(n, 500)) for n in (0, 2, 3, 5)
    ]


def test_crash_between_rename_and_index_commit_is_recovered(tmp_path: Path) -> None:
    """The file was rewritten without two messages but the index never heard of it."""
    root = tmp_path / "mail"
    store = MboxStore(root)
    inbox = store.folder("INBOX")
    uids = [inbox.append(numbered(n, 300), [SEEN] if n == 3 else []) for n in range(5)]
    store.close()
    path = root / "inbox"
    kept = [m for n, m in enumerate(independent_parse(path)) if n not in (1, 2)]
    box = mailbox.mbox(path)
    box.lock()
    box.remove(box.keys()[2])
    box.remove(box.keys()[1])
    box.flush()  # Python's mailbox rewrites the file, as mutt would
    box.unlock()
    box.close()
    assert independent_parse(path) == kept
    inbox = MboxStore(root).folder("INBOX")
    assert [i.uid for i in inbox.messages()] == [uids[0], uids[3], uids[4]]
    assert inbox.message(uids[3]).flags == {SEEN}
    assert inbox.read(uids[4]) == numbered(4, 300)
    assert inbox.vanished_since(0) == [uids[1], uids[2]]
    assert inbox.status().uidnext == uids[4] + 1


def test_another_process_sees_changes_on_refresh(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    mine = MboxStore(root).folder("INBOX")
    uid = mine.append(numbered(1, 200))
    theirs = MboxStore(root).folder("INBOX")  # another process's store on the same mailbox
    assert [i.uid for i in theirs.messages()] == [uid]
    theirs.store_flags([uid], [SEEN], "add")
    new = theirs.append(numbered(2, 200))
    assert mine.refresh() is True
    assert mine.message(uid).flags == {SEEN}
    assert mine.read(new) == numbered(2, 200)
    assert mine.refresh() is False


class GeneratedMessage(io.RawIOBase):
    """A message made on the fly, never held whole in memory."""

    def __init__(self, size: int) -> None:
        self._header = b"Subject: big\r\n\r\n"
        self._line = b"A" * 996 + b"\r\n"
        self._left = size
        self._sent_header = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._sent_header:
            data = self._header
            self._sent_header = True
        else:
            count = min(len(buffer), self._left) // len(self._line)
            data = self._line * count
            self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)


@pytest.mark.slow
def test_a_20_mb_message_is_streamed_not_held(tmp_path: Path) -> None:
    size = 20 * 1024 * 1024
    inbox = MboxStore(tmp_path / "mail").folder("INBOX")
    tracemalloc.start()
    try:
        uid = inbox.append(io.BufferedReader(GeneratedMessage(size), 65536))
        _, appending_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with inbox.open(uid) as stream:
            total = 0
            while chunk := stream.read(1 << 20):
                total += len(chunk)
        _, reading_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    info = inbox.message(uid)
    assert total == info.size
    assert appending_peak < 4 * 1024 * 1024
    assert reading_peak < 6 * 1024 * 1024
    tail = inbox.read(uid, info.size - 998, 2000)
    assert tail == b"A" * 996 + b"\r\n"


def test_inbox_removed_behind_our_back_is_made_again(tmp_path: Path) -> None:
    inbox = MboxStore(tmp_path / "mail").folder("INBOX")
    old = inbox.append(numbered(1, 100))
    (tmp_path / "mail" / "inbox").unlink()
    assert inbox.refresh() is True
    assert inbox.messages() == []
    assert inbox.vanished_since(0) == [old]
    new = inbox.append(numbered(2, 100))
    assert new > old
    assert inbox.read(new) == numbered(2, 100)


def test_status_headers_rewritten_by_a_mail_reader_keep_the_uid(tmp_path: Path) -> None:
    """mutt marks a message read by rewriting the file with a Status: header in it."""
    root = tmp_path / "mail"
    store = MboxStore(root)
    inbox = store.folder("INBOX")
    uids = [inbox.append(numbered(n, 300), [FLAGGED] if n == 1 else []) for n in range(3)]
    inbox.set_cached(uids[1], "envelope", b"cached")
    path = root / "inbox"
    text = path.read_bytes().replace(
        b"Subject: message 00001\n", b"Subject: message 00001\nStatus: RO\nX-Status: A\n"
    )
    temp = root / "mutt.tmp"
    temp.write_bytes(text)
    os.rename(temp, path)
    assert inbox.refresh() is True
    assert [i.uid for i in inbox.messages()] == uids
    info = inbox.message(uids[1])
    assert info.flags == {FLAGGED, SEEN, ANSWERED}
    # As Dovecot, the status headers are state, not content: readers are not shown them.
    shown = inbox.read(uids[1])
    assert shown == numbered(1, 300)
    assert info.size == len(shown)
    assert inbox.get_cached(uids[1], "envelope") is None  # content changed: parse again
    assert inbox.vanished_since(0) == []
    assert inbox.read(uids[2]) == numbered(2, 300)


# Appends a message whose source stalls after 1 MB: maa has written part of it when the test
# kills the process.
STALLED_APPENDER = r"""
import io, sys
from maa.storage.mbox import MboxStore

class Stalling(io.RawIOBase):
    def __init__(self):
        self.data = b"Subject: partial\r\n\r\n" + (b"P" * 78 + b"\r\n") * 20000
    def readable(self):
        return True
    def readinto(self, buffer):
        if not self.data:
            print("stalled", flush=True)
            sys.stdin.readline()  # never comes
        size = min(len(buffer), len(self.data))
        buffer[:size] = self.data[:size]
        self.data = self.data[size:]
        return size

MboxStore(sys.argv[1]).folder("INBOX").append(io.BufferedReader(Stalling()))
"""


@pytest.mark.parametrize("then_postfix_delivers", [False, True])
def test_append_killed_midway_leaves_no_message(
    tmp_path: Path, then_postfix_delivers: bool
) -> None:
    root = tmp_path / "mail"
    store = MboxStore(root)
    inbox = store.folder("INBOX")
    before = [inbox.append(numbered(n, 200)) for n in range(2)]
    with subprocess.Popen(
        [sys.executable, "-c", STALLED_APPENDER, str(root)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == b"stalled\n"
        child.send_signal(signal.SIGKILL)
    assert os.path.getsize(root / "inbox") > 1 << 18  # part of it reached the file
    if then_postfix_delivers:  # another program appends after the debris
        with open(root / "inbox", "ab") as mbox:
            mbox.write(b"\nFrom postfix Mon Nov 23 10:00:00 2026\nSubject: theirs\n\nhi\n\n")
    # Readers never show the debris as a message.
    assert inbox.refresh() is True
    expected = [*before, before[-1] + 1] if then_postfix_delivers else before
    assert [i.uid for i in inbox.messages()] == expected
    # The next writer breaks the dead process's dotlock and cuts the debris out.
    new = inbox.append(numbered(9, 200))
    wanted = [lf(numbered(0, 200)), lf(numbered(1, 200))]
    if then_postfix_delivers:
        wanted.append(b"Subject: theirs\n\nhi\n")
    wanted.append(lf(numbered(9, 200)))
    assert independent_parse(root / "inbox") == wanted
    assert [i.uid for i in inbox.messages()] == [*expected, new]
    assert inbox.read(new) == numbered(9, 200)
    assert [p for p in os.listdir(root) if p.startswith(".inbox") or p.endswith(".lock")] == []
    fresh = MboxStore(root).folder("INBOX")  # what another process makes of the index
    assert [i.uid for i in fresh.messages()] == [*expected, new]
