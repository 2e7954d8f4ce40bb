"""``maa queue``: postqueue -p style listing, hold/release/delete, and flush both ways — the
running server's queue manager signalled (relay host down, then up), or in-process delivery
when no server runs."""

from __future__ import annotations

import re
import smtplib
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support import PASSWORD, running_server, write_config

from maa.config import load_config
from maa.queue.cleanup import enqueue_bytes
from maa.queue.envelope import ClientInfo, Recipient
from maa.queue.store import QueueStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "queue"))
from smtp_sink_support import Sink, free_port


def queue_cmd(config: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from maa.cli import main

    capsys.readouterr()
    status = main(["queue", "-c", str(config), *args])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def wait_until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def queue_one(config_path: Path, recipient: str = "x@remote.test") -> tuple[QueueStore, str]:
    config = load_config(config_path)
    store = QueueStore.for_data_dir(config.data_dir)
    result = enqueue_bytes(
        store,
        b"Subject: queued\r\n\r\nhello\r\n",
        sender="alice@example.test",
        recipients=[Recipient(recipient, recipient)],
        client=ClientInfo(),
        hostname="mail.example.test",
    )
    return store, result.queue_id


def test_list_hold_release_delete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path / "etc")
    assert queue_cmd(path, "list", capsys=capsys) == (0, "Mail queue is empty\n")
    store, qid = queue_one(path)
    status, out = queue_cmd(path, "list", capsys=capsys)
    lines = out.splitlines()
    assert lines[0].startswith("-Queue ID-")
    assert lines[1].startswith(f"{qid} ") and lines[1].endswith("  alice@example.test")
    assert lines[2].strip() == "x@remote.test"
    assert lines[-1] == "-- 1 Kbytes in 1 Request."

    status, shown = queue_cmd(path, "show", qid, capsys=capsys)
    assert status == 0 and f"*** ENVELOPE RECORDS incoming/{qid} ***" in shown
    assert "recipient: x@remote.test [pending]" in shown and "Subject: queued" in shown
    assert (
        "hello" not in shown and "hello" in queue_cmd(path, "show", "--body", qid, capsys=capsys)[1]
    )

    assert queue_cmd(path, "hold", qid, capsys=capsys)[0] == 0
    assert store.ids("hold") == [qid]
    assert f"{qid}!" in queue_cmd(path, "list", capsys=capsys)[1]

    assert queue_cmd(path, "release", qid, capsys=capsys)[0] == 0
    assert store.ids("deferred") == [qid] and store.ids("hold") == []

    status, out = queue_cmd(path, "delete", qid, capsys=capsys)
    assert status == 0 and f"{qid}: removed" in out
    assert not any(store.ids(q) for q in ("incoming", "deferred", "hold"))
    assert not store.content_path(qid).exists()
    assert queue_cmd(path, "delete", qid, capsys=capsys)[0] == 66


def test_flush_without_a_server_delivers_in_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    path = write_config(tmp_path / "etc", submission={"relayhost": f"[127.0.0.1]:{port}"})
    store, qid = queue_one(path)
    queue_cmd(path, "flush", capsys=capsys)
    assert store.ids("deferred") == [qid]
    assert "Connection refused" in queue_cmd(path, "list", capsys=capsys)[1]
    with Sink(port) as sink:
        status, out = queue_cmd(path, "flush", capsys=capsys)
    assert status == 0 and f"{qid}: removed" in out
    assert [m.recipients for m in sink.messages] == [["x@remote.test"]]


def test_relay_down_then_flush_signals_the_running_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    with running_server(
        tmp_path / "server",
        submission={"relayhost": f"[127.0.0.1]:{port}"},
        queue={"min_backoff": 3600.0, "run_interval": 3600.0},
    ) as server:
        with smtplib.SMTP("127.0.0.1", server.ports["submission"], timeout=10) as s:
            s.login("alice@example.test", PASSWORD)
            s.sendmail("alice@example.test", ["x@remote.test"], "Subject: later\r\n\r\nhi\r\n")
        store = QueueStore(server.data_dir / "queue")
        wait_until(lambda: len(store.ids("deferred")) == 1)
        with Sink(port) as sink:
            assert queue_cmd(server.config, "flush", capsys=capsys)[0] == 0
            wait_until(lambda: len(sink.messages) == 1)
            wait_until(lambda: store.ids("deferred") == [])
        log = server.log_text()
    assert [m.recipients for m in sink.messages] == [["x@remote.test"]]
    assert "status=deferred" in log and "Connection refused" in log
    assert f"relay=127.0.0.1[127.0.0.1]:{port}" in log and "status=sent (250" in log


def test_queue_id_path_traversal_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``maa queue delete ../../x`` must name no message, never a path outside the queue."""
    path = write_config(tmp_path / "etc")
    victim = tmp_path / "etc" / "var" / "victim"
    victim.parent.mkdir(parents=True, exist_ok=True)
    victim.write_text("keep me")
    for action in ("delete", "hold", "release"):
        status, out = queue_cmd(path, action, "../victim", capsys=capsys)
        assert status == 66 and "no such message" in out
    assert victim.read_text() == "keep me"


def test_delete_hold_release_are_logged_in_the_mail_log(tmp_path: Path) -> None:
    """As postsuper's are: the admin can tell from the log who took a message out, and when."""
    import subprocess

    path = write_config(tmp_path / "etc", server={"log_file": "maillog"})
    store, held = queue_one(path)
    _, deleted = queue_one(path)

    def maa_queue(*args: str) -> None:
        cmd = [sys.executable, "-m", "maa", "queue", "-c", str(path), *args]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)

    maa_queue("hold", held)
    maa_queue("release", held)
    maa_queue("delete", deleted)
    log = (load_config(path).data_dir / "maillog").read_text()
    assert re.search(rf"maa/postsuper\[\d+\]: {held}: placed on hold$", log, re.M)
    assert re.search(rf"maa/postsuper\[\d+\]: {held}: released from hold$", log, re.M)
    assert re.search(rf"maa/postsuper\[\d+\]: {deleted}: removed$", log, re.M)
    assert store.ids("deferred") == [held]


def test_listing_gives_each_deferral_reason_once_as_postqueue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    path = write_config(tmp_path / "etc", submission={"relayhost": f"[127.0.0.1]:{port}"})
    store = QueueStore.for_data_dir(load_config(path).data_dir)
    qid = enqueue_bytes(
        store,
        b"Subject: two\r\n\r\nhello\r\n",
        sender="alice@example.test",
        recipients=[Recipient(a, a) for a in ("x@remote.test", "y@remote.test")],
        client=ClientInfo(),
        hostname="mail.example.test",
    ).queue_id
    queue_cmd(path, "flush", capsys=capsys)
    lines = queue_cmd(path, "list", capsys=capsys)[1].splitlines()
    assert lines[1].startswith(f"{qid} ")
    assert lines[2] == f"(connect to 127.0.0.1[127.0.0.1]:{port}: Connection refused)"
    assert [line.strip() for line in lines[3:5]] == ["x@remote.test", "y@remote.test"]
    assert lines[5:] == ["", "-- 1 Kbytes in 1 Request."]
