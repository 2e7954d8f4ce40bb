"""kill -9 in the middle of queue runs: nothing queued is lost, and no recipient whose
acknowledgement was recorded is sent to again (Postfix's guarantee: only a crash between the
next hop's 250 and the fsync of that fact may repeat a delivery)."""

from __future__ import annotations

import re
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from smtp_sink_support import Sink
from support import start_server, write_config

from maa.config import load_config
from maa.queue.cleanup import enqueue_bytes
from maa.queue.envelope import ClientInfo, Recipient
from maa.queue.store import QueueStore

MESSAGES = 30
KILLS = 2


@pytest.mark.slow
def test_kill_9_during_queue_runs_loses_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "server"
    with Sink() as sink:
        sink.handler.data_delay = 0.15
        sections = {"submission": {"relayhost": f"[127.0.0.1]:{sink.port}"}}
        config = load_config(write_config(directory, **sections))  # type: ignore[arg-type]
        store = QueueStore.for_data_dir(config.data_dir)
        for i in range(MESSAGES):
            remote = f"r{i}@remote.test"
            enqueue_bytes(
                store,
                f"Subject: crash {i}\r\n\r\nbody {i}\r\n".encode(),
                sender="alice@example.test",
                recipients=[Recipient(remote, remote), Recipient("bob@example.test", "bob")],
                client=ClientInfo(),
                hostname="mail.example.test",
            )
        logs = []
        for run in range(KILLS):
            server = start_server(directory, **sections)  # type: ignore[arg-type]
            time.sleep(0.4 + 0.2 * run)
            server.stop(signal.SIGKILL)
            logs.append(server.log_text())
        server = start_server(directory, **sections)  # type: ignore[arg-type]
        try:
            deadline = time.monotonic() + 30
            while any(store.ids(q) for q in ("incoming", "active", "deferred")):
                assert time.monotonic() < deadline, "queue did not drain"
                time.sleep(0.1)
        finally:
            server.stop()
            logs.append(server.log_text())
        received = Counter(r for m in sink.messages for r in m.recipients)
    # Nothing lost: every remote recipient got the message, every local copy is there.
    assert set(received) == {f"r{i}@remote.test" for i in range(MESSAGES)}
    from maa.auth import open_passwd_file
    from maa.storage import open_store

    bob = open_passwd_file(config).lookup("bob@example.test")
    assert bob is not None
    inbox = open_store(bob.mail_location).folder("INBOX")
    subjects = Counter(
        re.search(rb"Subject: (crash \d+)", inbox.read(m.uid)).group(1)  # type: ignore[union-attr]
        for m in inbox.messages()
    )
    assert set(subjects) == {f"crash {i}".encode() for i in range(MESSAGES)}
    # Nothing recorded as sent was sent again: each (queue id, recipient) is logged
    # status=sent at most once over all the runs.
    sent = Counter(re.findall(r": ([0-9A-F]{12}): to=<([^>]+)>.*status=sent", "\n".join(logs)))
    assert sent and max(sent.values()) == 1
    # Repeats can only come from kills between a 250 and its fsync.
    repeats = sum(n - 1 for n in received.values()) + sum(n - 1 for n in subjects.values())
    assert repeats <= KILLS * 16
    assert any("recovering" in log for log in logs[1:])
