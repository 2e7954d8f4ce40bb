"""The maildrop lock across processes: a ``maa serve`` subprocess and this process's POP3
over one data directory, as during a restart with the old process still running, and the
lock let go when the process holding it dies."""

from __future__ import annotations

import poplib
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest_twisted
from pop3_support import ALICE, message
from support import PASSWORD, REPO, RunningServer
from twisted.internet import threads

from maa.pop3.maildrop import LOCK_NAME, MaildropLock
from maa.storage import open_store
from maa.storage.interface import INBOX


def _refusal(port: int) -> bytes:
    client = poplib.POP3("127.0.0.1", port, timeout=10)
    client.user(ALICE)
    try:
        client.pass_(PASSWORD)
    except poplib.error_proto as e:
        client.quit()
        return bytes(e.args[0])
    client.quit()
    raise AssertionError("logged in while another process holds the maildrop")


@pytest_twisted.inlineCallbacks
def test_a_session_in_another_maa_process_locks_the_maildrop(
    maa_server: RunningServer, pop3_factory: Any, tmp_path: Path
) -> None:
    store = open_store(f"maildir:{maa_server.maildir('alice')}")
    store.ensure_defaults()
    store.folder(INBOX).append(message(1))
    here = pop3_factory(tmp_path / "second", server={"data_dir": str(maa_server.data_dir)})

    def sessions() -> tuple[bytes, bytes, tuple[int, int]]:
        other = poplib.POP3("127.0.0.1", maa_server.ports["pop3"], timeout=10)
        other.user(ALICE)
        other.pass_(PASSWORD)
        other.dele(1)
        refused = _refusal(here.port)
        # The old process dies with its session open: the kernel lets go of the lock, and
        # the DELE it never committed is not applied.
        maa_server.stop(signal.SIGKILL)
        other.close()
        client = poplib.POP3("127.0.0.1", here.port, timeout=10)
        client.user(ALICE)
        welcome = client.pass_(PASSWORD)
        stat = client.stat()
        client.quit()
        return refused, welcome, stat

    refused, welcome, stat = yield threads.deferToThread(sessions)
    assert refused == b"-ERR [IN-USE] Mailbox is locked by another POP3 session"
    assert welcome == b"+OK Logged in."
    assert stat == (1, len(message(1)))
    # The lock file is no folder: neither IMAP's list nor a Maildir++ reader sees it.
    assert (maa_server.maildir("alice") / LOCK_NAME).is_file()
    fresh = open_store(f"maildir:{tmp_path / 'fresh'}")
    fresh.ensure_defaults()
    assert [f.name for f in store.list_folders()] == [f.name for f in fresh.list_folders()]


_HOLDER = """
import sys, time
from maa.pop3.maildrop import MaildropLock
lock = MaildropLock.acquire(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()
lock.release()
print("released", flush=True)
"""


@pytest_twisted.inlineCallbacks
def test_the_lock_holds_against_another_process_on_mbox(pop3_factory: Any, tmp_path: Path) -> None:
    root = tmp_path / "mbox"
    location = f"mbox:{root}/%d/%n"
    pop3 = pop3_factory(tmp_path / "etc", mail={"location": location})
    pop3.deliver(message(1))
    user_location = pop3.user().mail_location
    assert user_location.startswith("mbox:")

    def sessions() -> tuple[bytes, bytes]:
        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, user_location],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO,
        )
        assert holder.stdout is not None and holder.stdin is not None
        try:
            assert holder.stdout.readline() == b"locked\n"
            assert MaildropLock.held(user_location)
            refused = _refusal(pop3.port)
            holder.stdin.close()
            assert holder.stdout.readline() == b"released\n"
        finally:
            holder.kill()
            holder.wait()
        client = pop3.client()
        stat = client.stat()
        client.quit()
        return refused, repr(stat).encode()

    refused, stat = yield threads.deferToThread(sessions)
    assert refused == b"-ERR [IN-USE] Mailbox is locked by another POP3 session"
    assert stat == repr((1, len(message(1)))).encode()
    lock_file = Path(user_location.partition(":")[2]) / ".imap" / LOCK_NAME
    assert lock_file.is_file()
    fresh = open_store(f"mbox:{tmp_path / 'fresh'}")
    fresh.ensure_defaults()
    listed = [f.name for f in pop3.store().list_folders()]
    assert listed == [f.name for f in fresh.list_folders()]


def test_a_lock_is_let_go_once_and_taken_again(tmp_path: Path) -> None:
    location = f"maildir:{tmp_path}"
    first = MaildropLock.acquire(location)
    assert MaildropLock.held(location)
    first.release()
    first.release()
    assert not MaildropLock.held(location)
    second = MaildropLock.acquire(location)
    second.release()
