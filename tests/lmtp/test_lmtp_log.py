"""The log lines an admin greps for, from a real ``maa serve``: Dovecot's ``saved mail to``
with the session id the client was told, and Postfix-shaped connect/disconnect lines."""

from __future__ import annotations

import re
import time
from pathlib import Path

import support
from lmtp_client import lmtp_send

MESSAGE = b"Message-ID: <log1@example.test>\r\nSubject: log\r\n\r\nbody\r\n"


def wait_for(server: support.RunningServer, pattern: str) -> re.Match[str]:
    """The first log line matching ``pattern``, once the server has written it."""
    deadline = time.monotonic() + 20
    while True:
        found = re.search(pattern, server.log_text(), re.MULTILINE)
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"no line like {pattern!r} in\n{server.log_text()}"
        time.sleep(0.05)


def test_delivery_log_lines(tmp_path: Path) -> None:
    with support.running_server(tmp_path / "srv") as server:
        results = lmtp_send(
            server.ports["lmtp"],
            "s@example.test",
            ["alice@example.test", "nobody@example.test", "bob+nofolder@example.test"],
            MESSAGE,
        )
        code, text = results["alice@example.test"]
        assert code == 250
        session = text.decode().split()[2]  # "2.0.0 <alice@example.test> SESSION Saved"
        assert results["nobody@example.test"][0] == 550
        prefix = rf"^\w{{3}} [ \d]\d \d\d:\d\d:\d\d \S+ maa/lmtp\[(\d+)\]: {re.escape(session)}: "
        pid = wait_for(server, prefix + r"connect from localhost\[127\.0\.0\.1\]$").group(1)
        assert int(pid) == server.process.pid
        wait_for(server, prefix + r"rcpt <nobody@example\.test>: unknown user$")
        size = len(MESSAGE)
        wait_for(
            server,
            prefix + r"alice@example\.test: msgid=<log1@example\.test>, from=<s@example\.test>, "
            rf"to=<alice@example\.test>, size={size}: saved mail to INBOX$",
        )
        wait_for(
            server,
            prefix + r"bob@example\.test: msgid=<log1@example\.test>, from=<s@example\.test>, "
            rf"to=<bob\+nofolder@example\.test>, size={size}: saved mail to INBOX$",
        )
        wait_for(server, prefix + r"disconnect from localhost\[127\.0\.0\.1\]$")
        stored = next((server.maildir("alice") / "new").iterdir()).read_bytes()
        assert f"with LMTP id {session}\n".encode() in stored
