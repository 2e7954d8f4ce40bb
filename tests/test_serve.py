from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

from support import running_server


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
