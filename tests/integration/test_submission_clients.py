"""Real mail clients from Debian submitting through ``maa serve``: swaks with AUTH PLAIN over
STARTTLS, and s-nail (mailx) with its SMTP transport, both on the submission port."""

from __future__ import annotations

import email
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import PASSWORD, RunningServer, running_server

from maa.config import load_config

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("submission") / "server") as s:
        yield s


def wait_for_subject(server: RunningServer, login: str, subject: str) -> email.message.Message:
    from maa.auth import open_passwd_file
    from maa.storage import open_store

    config = load_config(server.config)
    user = open_passwd_file(config).lookup(login)
    assert user is not None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        folder = open_store(user.mail_location).folder("INBOX")
        for info in folder.messages():
            msg = email.message_from_bytes(folder.read(info.uid))
            if msg["Subject"] == subject:
                return msg
        time.sleep(0.1)
    raise AssertionError(f"{subject!r} never reached {login}:\n{server.log_text()}")


def test_swaks_auth_plain_over_starttls(server: RunningServer) -> None:
    if shutil.which("swaks") is None:
        pytest.skip("swaks is not installed (Debian package swaks)")
    done = subprocess.run(
        [
            "swaks", "--server", "127.0.0.1", "--port", str(server.ports["submission"]),
            "--tls", "--auth", "PLAIN",
            "--auth-user", "alice@example.test", "--auth-password", PASSWORD,
            "--from", "alice@example.test", "--to", "bob@example.test",
            "--header", "Subject: via swaks",
        ],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "235 2.7.0" in done.stdout and "Ok: queued as" in done.stdout
    msg = wait_for_subject(server, "bob@example.test", "via swaks")
    assert "ESMTPSA" in msg["Received"]


def test_swaks_without_auth_is_refused(server: RunningServer) -> None:
    if shutil.which("swaks") is None:
        pytest.skip("swaks is not installed (Debian package swaks)")
    done = subprocess.run(
        [
            "swaks", "--server", "127.0.0.1", "--port", str(server.ports["submission"]),
            "--tls", "--from", "alice@example.test", "--to", "someone@remote.test",
        ],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "530 5.7.0 Authentication required" in done.stdout


def test_s_nail_sends_through_maa(server: RunningServer, tmp_path: Path) -> None:
    if shutil.which("s-nail") is None:
        pytest.skip("s-nail is not installed (Debian package s-nail)")
    port = server.ports["submission"]
    done = subprocess.run(
        [
            "s-nail", "-:/", "-Sv15-compat", "-Sttycharset=utf-8",
            f"-Smta=smtp://alice%40example.test:{PASSWORD}@127.0.0.1:{port}",
            "-Ssmtp-use-starttls", "-Stls-verify=ignore", "-Ssmtp-auth=plain",
            "-s", "via s-nail", "-r", "alice@example.test", "bob@example.test",
        ],
        input="hello from s-nail\n", capture_output=True, text=True, timeout=60,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    msg = wait_for_subject(server, "bob@example.test", "via s-nail")
    assert msg["Return-Path"] == "<alice@example.test>"
    assert "hello from s-nail" in msg.get_payload()
