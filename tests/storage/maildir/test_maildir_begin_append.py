"""``MaildirFolder.begin_append``: the file is written at once, the wait for the disk is left
to the group commit's thread, and the UID comes through the Future only once durable."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from maa.storage import INBOX
from maa.storage.maildir import MaildirStore, state
from maa.storage.maildir.durable import CAN_SYNC_FILESYSTEM

pytestmark = pytest.mark.skipif(not CAN_SYNC_FILESYSTEM, reason="needs syncfs(2)")

MSG = b"Subject: begun\r\n\r\nbody\r\n"
TIMEOUT = 30
# The ways a commit round makes things durable: a whole filesystem, or one file and the
# directories, when it has only a single new file or only names to sync.
SYNCS = ("sync_filesystem", "sync_file_data", "fsync_dir")


def hold_syncs(
    monkeypatch: pytest.MonkeyPatch, syncing: threading.Event, release: threading.Event
) -> None:
    """Make every sync of a commit round wait for ``release`` (``syncing`` says one does)."""
    for name in SYNCS:
        real = getattr(state, name)

        def held(path: Path, real: Callable[[Path], None] = real) -> None:
            syncing.set()
            assert release.wait(TIMEOUT)
            real(path)

        monkeypatch.setattr(state, name, held)


def test_returns_before_the_sync_and_tells_the_uid_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "md"
    inbox = MaildirStore(root).folder(INBOX)
    syncing = threading.Event()
    release = threading.Event()
    hold_syncs(monkeypatch, syncing, release)
    future = inbox.begin_append(MSG)
    assert future is not None
    assert syncing.wait(TIMEOUT)
    # Written, but neither told nor visible while the sync has not returned.
    assert len(os.listdir(root / "tmp")) == 1 and os.listdir(root / "new") == []
    assert not future.done()
    release.set()
    uid = future.result(TIMEOUT)
    assert os.listdir(root / "tmp") == []
    [name] = os.listdir(root / "new")
    assert f",S={len(MSG) - 3},W={len(MSG)}" in name
    assert MaildirStore(root).folder(INBOX).read(uid) == MSG


def test_a_failed_commit_fails_the_future_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "md"
    inbox = MaildirStore(root).folder(INBOX)

    def failing_sync(path: Path) -> None:
        raise OSError(5, "Input/output error")

    for name in SYNCS:
        monkeypatch.setattr(state, name, failing_sync)
    future = inbox.begin_append(MSG)
    assert future is not None
    with pytest.raises(OSError, match="Input/output"):
        future.result(TIMEOUT)
    # The file goes in the Future's callback, run just after waiters are woken.
    deadline = time.monotonic() + TIMEOUT
    while os.listdir(root / "tmp") and time.monotonic() < deadline:
        time.sleep(0.001)
    assert os.listdir(root / "tmp") == [] and os.listdir(root / "new") == []
    monkeypatch.undo()
    assert list(inbox.messages()) == []
    assert inbox.append(MSG) >= 1  # the folder goes on working


def test_a_lone_message_syncs_its_own_file_and_directory_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With nothing to share a round with, the data round fdatasyncs the one file and the
    naming round fsyncs the uidlist and new/: cheaper than two syncfs of everything."""
    root = tmp_path / "md"
    inbox = MaildirStore(root).folder(INBOX)
    calls: list[tuple[str, str]] = []
    for name in SYNCS:
        real = getattr(state, name)

        def counted(path: Path, real: Callable[[Path], None] = real, name: str = name) -> None:
            where = Path(path).relative_to(root)
            calls.append((name, "tmp/*" if where.parent.name == "tmp" else str(where)))
            real(path)

        monkeypatch.setattr(state, name, counted)
    uid = inbox.append(MSG)
    assert calls == [
        ("sync_file_data", "tmp/*"),
        ("sync_file_data", "dovecot-uidlist"),
        ("fsync_dir", "new"),
    ]
    assert inbox.read(uid) == MSG
