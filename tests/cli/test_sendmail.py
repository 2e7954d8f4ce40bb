"""``maa sendmail`` as scripts and mailx use it: a shell pipe into ``-t``, recipients on the
command line, the lone-dot rule, and ``maa queue flush`` delivering it with no server up."""

from __future__ import annotations

import email
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO, write_config

from maa.config import Config, load_config


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO))


def maa_queue(config: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``maa queue ...`` in this process (saves an interpreter start per call)."""
    from maa.cli import main

    capsys.readouterr()
    status = main(["queue", "-c", str(config), *args])
    return status, capsys.readouterr().out


def maa(config: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "maa", *args[:1], "-c", str(config), *args[1:]],
        input=stdin,
        capture_output=True,
        env=_env(),
        timeout=60,
    )


def inbox(config: Config, login: str) -> list[email.message.Message]:
    from maa.auth import open_passwd_file
    from maa.storage import open_store

    user = open_passwd_file(config).lookup(login)
    assert user is not None
    folder = open_store(user.mail_location).folder("INBOX")
    return [email.message_from_bytes(folder.read(m.uid)) for m in folder.messages()]


def test_sendmail_t_from_a_shell_pipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path / "etc")
    config = load_config(path)
    script = (
        "printf 'To: Bob <bob@example.test>\\nCc: carol\\nBcc: alice@example.test\\n"
        "Subject: from cron\\n\\nbackup done\\n' | "
        f"{sys.executable} -m maa sendmail -c {path} -t -oi -f alice@example.test"
    )
    done = subprocess.run(["sh", "-c", script], env=_env(), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    _, listing = maa_queue(path, "list", capsys=capsys)
    assert "alice@example.test" in listing and "bob@example.test" in listing
    assert maa_queue(path, "flush", capsys=capsys)[0] == 0
    for login in ("bob@example.test", "carol", "alice@example.test"):
        [msg] = inbox(config, login)
        assert msg["Subject"] == "from cron"
        assert msg["Bcc"] is None
        assert msg["Return-Path"] == "<alice@example.test>"
        assert msg["Message-ID"] and msg["Date"]
    assert maa_queue(path, "list", capsys=capsys)[1] == "Mail queue is empty\n"


def test_sendmail_lone_dot_ends_the_message_without_i(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path / "etc")
    body = b"Subject: dots\n\nline one\n.\nnot part of it\n"
    assert maa(path, "sendmail", "bob@example.test", stdin=body).returncode == 0
    assert maa(path, "sendmail", "-i", "bob@example.test", stdin=body).returncode == 0
    maa_queue(path, "flush", capsys=capsys)
    texts = sorted(m.get_payload() for m in inbox(load_config(path), "bob@example.test"))
    assert texts == ["line one\r\n", "line one\r\n.\r\nnot part of it\r\n"]


def test_sendmail_full_name_and_default_sender(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path / "etc")
    done = maa(path, "sendmail", "-F", "Backup Robot", "bob@example.test", stdin=b"hi\n")
    assert done.returncode == 0
    maa_queue(path, "flush", capsys=capsys)
    [msg] = inbox(load_config(path), "bob@example.test")
    assert msg["From"].startswith('"Backup Robot" <')
    assert msg["Return-Path"].endswith("@mail.example.test>")


def test_sendmail_without_recipients_is_a_usage_error(tmp_path: Path) -> None:
    path = write_config(tmp_path / "etc")
    done = maa(path, "sendmail", "-t", stdin=b"Subject: nobody\n\nhi\n")
    assert done.returncode == 64
    assert b"no recipient" in done.stderr


def test_sendmail_header_checks_reject(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "checks").write_text("/^Subject: .*lottery/ REJECT no lotteries\n")
    path = write_config(etc, submission={"header_checks": "checks"})
    done = maa(path, "sendmail", "bob@example.test", stdin=b"Subject: You won the lottery\n\nx\n")
    assert done.returncode == 65
    assert b"no lotteries" in done.stderr
    assert maa_queue(path, "list", capsys=capsys)[1] == "Mail queue is empty\n"


def test_sendmail_refuses_header_injection_in_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A newline in -f or -F would forge header lines in the From: that cleanup adds. (Run
    in-process: the arguments are refused before stdin is read.)"""
    from maa.cli import main

    path = write_config(tmp_path / "etc")
    for args in (
        ["-f", "a@example.test\nBcc: victim@remote.test", "bob@example.test"],
        ["-F", "Name\nX-Injected: yes", "bob@example.test"],
        ["bob@example.test\r\nX-Injected: yes"],
    ):
        assert main(["sendmail", "-c", str(path), *args]) == 64
        assert "line break" in capsys.readouterr().err


def test_root_queues_mail_owned_by_the_server_user(tmp_path: Path) -> None:
    """Run by root, sendmail leaves files the server (dropped to [server] user) can take."""
    import pwd

    if os.geteuid() != 0:
        pytest.skip("needs root")
    nobody = pwd.getpwnam("nobody")
    path = write_config(tmp_path / "etc", server={"user": "nobody"})
    assert maa(path, "sendmail", "bob@example.test", stdin=b"hi\n").returncode == 0
    queue = load_config(path).data_dir / "queue"
    [envelope] = list((queue / "incoming").iterdir())
    for made in (
        queue,
        queue / "incoming",
        queue / "data",
        envelope,
        queue / "data" / envelope.name,
    ):
        assert (made.stat().st_uid, made.stat().st_gid) == (nobody.pw_uid, nobody.pw_gid), made


def test_bare_sender_of_an_alias_is_qualified_when_mail_leaves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``root`` is an aliases(5) key, so sendmail keeps it bare for local delivery; sent on to
    another host, the envelope sender and the From: cleanup adds carry ``@hostname``, as
    Postfix's append_at_myorigin does (``MAIL FROM:<root>`` is no address elsewhere)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "queue"))
    from smtp_sink_support import Sink

    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "aliases").write_text("root: bob@example.test\n")
    with Sink() as sink:
        relay = {"relayhost": f"[127.0.0.1]:{sink.port}", "aliases": "aliases"}
        path = write_config(etc, submission=relay)
        done = maa(
            path, "sendmail", "-f", "root", "x@remote.test", "root", stdin=b"Subject: s\n\nx\n"
        )
        assert done.returncode == 0, done.stderr
        assert maa_queue(path, "flush", capsys=capsys)[0] == 0
    [sent] = sink.messages
    assert sent.sender == "root@mail.example.test"
    assert email.message_from_bytes(sent.content)["From"] == "root@mail.example.test"
    [local] = inbox(load_config(path), "bob@example.test")
    assert local["Return-Path"] == "<root>"


def test_cron_invocations_of_debian_and_cronie(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Debian's cron runs ``sendmail -i -FCronDaemon -B8BITMIME -oem root``, cronie
    ``sendmail -FCronDaemon -i -odi -oem -oi -t -f root``: both must queue the job's output."""
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "aliases").write_text("root: bob@example.test\n")
    path = write_config(etc, submission={"aliases": "aliases"})
    output = b"Subject: Cron <root@host> backup\n\nbackup done\n"
    debian = maa(path, "sendmail", "-i", "-FCronDaemon", "-B8BITMIME", "-oem", "root", stdin=output)
    assert debian.returncode == 0, debian.stderr
    cronie = maa(
        path, "sendmail", "-FCronDaemon", "-i", "-odi", "-oem", "-oi", "-t", "-f", "root",
        stdin=b"To: root\n" + output,
    )  # fmt: skip
    assert cronie.returncode == 0, cronie.stderr
    assert maa(path, "sendmail", "-I").returncode == 0  # newaliases
    maa_queue(path, "flush", capsys=capsys)
    messages = inbox(load_config(path), "bob@example.test")
    assert [m["Subject"] for m in messages] == ["Cron <root@host> backup"] * 2
    assert all(m["From"] == '"CronDaemon" <root@mail.example.test>' for m in messages)
