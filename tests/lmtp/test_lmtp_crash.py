"""kill -9 of ``maa serve`` in the middle of an LMTP storm: every message acknowledged with
250 is in the Maildir byte-exact, no partial message ever shows up in new/ or cur/, and the
UIDs handed out before and after each crash stay unique."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import support

from maa.storage import INBOX
from maa.storage.maildir import MaildirStore
from maa.storage.maildir.uidlist import load

CLIENTS = 4
KILLS = 5
# How long each server incarnation takes mail before it is killed.
STORM_SECONDS = 0.5
PAYLOAD_LINES = 60


def message_for(tag: str) -> bytes:
    lines = b"".join(
        b"%s line %d of a message that must arrive whole\r\n" % (tag.encode(), i)
        for i in range(PAYLOAD_LINES)
    )
    return b"Subject: " + tag.encode() + b"\r\n\r\n" + lines + b"END " + tag.encode() + b"\r\n"


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(support.REPO))
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "maa", "serve", "-c", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=config.parent,
        )


def half_sent(port: int, tag: str) -> socket.socket:
    """A connection that is in the middle of DATA: the server has said 354 and has half of
    the message; the kill that follows is certain to hit a delivery in progress."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"LHLO half.test\r\nMAIL FROM:<s@example.test>\r\n")
    s.sendall(b"RCPT TO:<alice@example.test>\r\nDATA\r\n")
    whole = message_for(tag)
    s.sendall(whole[: len(whole) // 2])
    received = b""
    while b"354 " not in received:
        data = s.recv(4096)
        assert data, "the server hung up before DATA"
        received += data
    return s


def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while not support._accepts(port):
        assert process.poll() is None, "maa serve exited"
        assert time.monotonic() < deadline, "maa serve did not start"
        time.sleep(0.05)


@pytest.mark.slow
def test_kill_9_mid_storm_loses_no_acknowledged_message(tmp_path: Path) -> None:
    with support.running_server(tmp_path / "srv") as server:
        port = server.ports["lmtp"]
        acked: dict[str, bytes] = {}
        lock = threading.Lock()
        stop = threading.Event()

        def client(n: int) -> None:
            i = 0
            while not stop.is_set():
                tag = f"c{n}m{i}"
                i += 1
                try:
                    lmtp = smtplib.LMTP("127.0.0.1", port, timeout=10)
                    try:
                        lmtp.ehlo("crash.test")
                        lmtp.mail("s@example.test")
                        lmtp.rcpt("alice@example.test")
                        code, _ = lmtp.data(message_for(tag))
                    finally:
                        lmtp.close()
                except (OSError, smtplib.SMTPException):
                    time.sleep(0.02)  # the server is down: try again
                    continue
                if code == 250:
                    with lock:
                        acked[tag] = message_for(tag)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        process = server.process
        try:
            for kill in range(KILLS):
                time.sleep(STORM_SECONDS)
                half = half_sent(port, f"half{kill}")
                process.send_signal(signal.SIGKILL)
                half.close()
                process.wait(10)
                process = start(server.config, server.log)
                server.process = process
                wait_listening(port, process)
            time.sleep(STORM_SECONDS)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        assert len(acked) > 10, "the storm delivered too little to prove anything"

        maildir = server.maildir("alice")
        files = [p for sub in ("new", "cur") for p in (maildir / sub).iterdir()]
        stored: dict[str, bytes] = {}
        for path in files:
            content = path.read_bytes().replace(b"\r\n", b"\n")
            subject = content.split(b"Subject: ", 1)[1].split(b"\n", 1)[0].decode()
            expected = message_for(subject).replace(b"\r\n", b"\n")
            assert content.endswith(expected), f"partial or altered message {path.name}"
            stored[subject] = content
        missing = sorted(set(acked) - set(stored))
        assert not missing, f"acknowledged but lost: {missing}"
        assert not [tag for tag in stored if tag.startswith("half")]

        # The UID list survived every crash: one record per file, no UID given twice, and a
        # fresh store lists exactly the files on disk.
        uidlist = load(maildir / "dovecot-uidlist")
        assert uidlist is not None
        bases = {path.name.split(":2,")[0] for path in files}
        assert bases <= set(uidlist.records.values())
        inbox = MaildirStore(maildir).folder(INBOX)
        infos = inbox.messages()
        assert len(infos) == len(files) == len({m.uid for m in infos})
