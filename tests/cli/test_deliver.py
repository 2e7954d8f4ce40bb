"""``maa deliver`` as Postfix's mailbox_command runs it: a subprocess reading stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import support

from maa.config import Config
from maa.context import StoreCache
from maa.storage.interface import INBOX

MESSAGE = b"From: s@example.test\nSubject: via lda\nMessage-ID: <lda1@example.test>\n\nbody\n"


def run_deliver(
    config: Config, *args: str, stdin: bytes = MESSAGE
) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, PYTHONPATH=str(support.REPO))
    return subprocess.run(
        [sys.executable, "-m", "maa", "deliver", "-c", str(config.path), *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=60,
    )


def stored(config: Config, login: str, folder: str = INBOX) -> list[bytes]:
    from maa.auth import open_passwd_file

    user = open_passwd_file(config).lookup(login)
    assert user is not None
    box = StoreCache().open(user).folder(folder)
    return [box.read(m.uid) for m in box.messages()]


def test_delivers_to_inbox_and_logs(maa_config: Config) -> None:
    result = run_deliver(maa_config, "-d", "alice@example.test", "-f", "s@example.test")
    assert result.returncode == 0, result.stderr
    (message,) = stored(maa_config, "alice@example.test")
    assert message == (
        b"Return-Path: <s@example.test>\r\nDelivered-To: alice@example.test\r\n"
        + MESSAGE.replace(b"\n", b"\r\n")
    )
    log = result.stderr.decode()
    assert "maa/lda[" in log
    assert "alice@example.test: msgid=<lda1@example.test>" in log
    assert "saved mail to INBOX" in log


def test_mbox_from_line_gives_the_sender(maa_config: Config) -> None:
    mbox = b"From bounce@example.net Mon Nov 23 10:00:00 2026\n" + MESSAGE
    assert run_deliver(maa_config, "-d", "bob@example.test", stdin=mbox).returncode == 0
    (message,) = stored(maa_config, "bob@example.test")
    assert message.startswith(b"Return-Path: <bounce@example.net>\r\n")
    assert b"From bounce" not in message


def test_folder_option_and_detail(maa_config: Config) -> None:
    assert run_deliver(maa_config, "-d", "alice@example.test", "-m", "Junk").returncode == 0
    assert run_deliver(maa_config, "-d", "alice+Trash@example.test").returncode == 0
    assert run_deliver(maa_config, "-d", "alice@example.test", "-m", "Missing").returncode == 0
    assert len(stored(maa_config, "alice@example.test", "Junk")) == 1
    assert len(stored(maa_config, "alice@example.test", "Trash")) == 1
    assert len(stored(maa_config, "alice@example.test")) == 1


def test_unknown_user_exits_67(maa_config: Config, capsys: pytest.CaptureFixture[str]) -> None:
    from maa.cli import main

    assert main(["deliver", "-c", str(maa_config.path), "-d", "nobody@example.test"]) == 67
    assert "unknown user" in capsys.readouterr().err


def test_missing_user_option_is_a_usage_error(maa_config: Config) -> None:
    from maa.cli import main

    assert main(["deliver", "-c", str(maa_config.path)]) == os.EX_USAGE == 64


def test_storage_failure_exits_75_tempfail(maa_config: Config) -> None:
    # The user's mail directory cannot be made (a file is in the way): retry later.
    root = Path(maa_config.server.data_dir) / "mail" / "example.test"
    root.mkdir(parents=True)
    (root / "alice").write_text("not a directory")
    result = run_deliver(maa_config, "-d", "alice@example.test")
    assert result.returncode == os.EX_TEMPFAIL == 75, result.stderr


def test_oversized_message_exits_69(tmp_path: Path) -> None:
    from maa.config import load_config

    config = load_config(support.write_config(tmp_path / "etc", mail={"max_message_size": 100}))
    result = run_deliver(config, "-d", "alice@example.test", stdin=MESSAGE + b"x" * 200)
    assert result.returncode == os.EX_UNAVAILABLE == 69
    assert b"5.3.4" in result.stderr


def test_unwritable_log_file_does_not_stop_delivery(tmp_path: Path) -> None:
    from maa.config import load_config

    config = load_config(
        support.write_config(tmp_path / "etc", server={"log_file": "blocker/maa.log"})
    )
    data = Path(config.server.data_dir)
    data.mkdir(parents=True)
    (data / "blocker").write_text("a file where the log folder should be")
    result = run_deliver(config, "-d", "alice@example.test")
    assert result.returncode == 0, result.stderr
    assert b"logging to stderr" in result.stderr
    assert b"saved mail to INBOX" in result.stderr
