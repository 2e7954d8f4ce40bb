from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

from support import RunningServer, running_server


def test_serve_listens_writes_a_pid_file_and_stops_on_sigterm_within_a_second(
    tmp_path: Path,
) -> None:
    with running_server(tmp_path) as server:
        pid_file = server.data_dir / "maa.pid"
        assert pid_file.read_text().strip() == str(server.process.pid)
        assert (server.data_dir / "tls" / "cert.pem").exists()
        started = time.monotonic()
        assert server.stop(signal.SIGTERM) == 0
        assert time.monotonic() - started < 1.0
        assert not pid_file.exists()
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", server.ports["imap"])) != 0
    log = server.log_text()
    assert "maa/master[" in log and "listening on 127.0.0.1:" in log
    assert "maa shutting down" in log


def test_serve_exits_non_zero_when_a_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        from support import REPO, write_config

        config = write_config(tmp_path, imap={"listen": [f"tcp:{port}:interface=127.0.0.1"]})
        import subprocess
        import sys

        result = subprocess.run(
            [sys.executable, "-m", "maa", "serve", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=REPO,
        )
    assert result.returncode != 0
    assert "fatal" in result.stderr


def test_sighup_rereads_the_users_file(tmp_path: Path) -> None:
    import imaplib

    with running_server(tmp_path) as server:
        users = server.config.parent / "users"
        users.write_text(users.read_text() + "erin@example.test:{PLAIN}fresh::::::\n")
        server.process.send_signal(signal.SIGHUP)
        _wait_for_log(server, "users file reread")
        client = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
        client.login("erin@example.test", "fresh")
        client.logout()


def _wait_for_log(server: RunningServer, text: str) -> None:
    deadline = time.monotonic() + 10
    while text not in server.log_text():
        assert time.monotonic() < deadline, server.log_text()
        time.sleep(0.05)


def _uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError("no Uid line")


def test_root_start_binds_then_drops_to_the_configured_user(tmp_path: Path) -> None:
    import os
    import pwd
    import shutil
    import smtplib
    import tempfile

    import pytest

    if os.geteuid() != 0:
        pytest.skip("needs root to drop privileges")
    nobody = pwd.getpwnam("nobody")
    # pytest's own temp root is private to root: use a folder nobody can reach.
    base = Path(tempfile.mkdtemp(prefix="maa-drop-"))
    base.chmod(0o755)
    self_cleanup = shutil.rmtree
    with running_server(base, server={"user": "nobody"}) as server:
        _wait_for_log(server, "maa starting up")
        assert _uid_of(server.process.pid) == nobody.pw_uid
        with smtplib.LMTP("127.0.0.1", server.ports["lmtp"]) as lmtp:
            lmtp.sendmail("x@example.org", ["alice@example.test"], b"Subject: t\r\n\r\nhi\r\n")
        new = server.maildir("alice") / "new"
        (message,) = list(new.iterdir())
        assert message.stat().st_uid == nobody.pw_uid
    assert "dropped privileges to nobody" in server.log_text()
    self_cleanup(base)
