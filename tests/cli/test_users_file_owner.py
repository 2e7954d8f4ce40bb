"""As root: ``maa user add|passwd|del`` keep the users file's owner, group and mode, and
``maa check`` warns when ``[server] user`` could not reread the users file."""

from __future__ import annotations

import grp
import os
import poplib
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import RunningServer, running_server, users_file_text

from maa.auth.passwdfile import readable_by

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")

NOBODY = pwd.getpwnam("nobody")
NOGROUP = NOBODY.pw_gid


@pytest.fixture
def etc() -> Iterator[Path]:
    """A folder anyone may traverse (pytest's tmp_path is root's 0700 one)."""
    folder = Path(tempfile.mkdtemp(prefix="maa-etc-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def maa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "maa", *args], capture_output=True, text=True, timeout=60
    )


def _setup(etc: Path, *, mode: int, gid: int, user: str | None = None) -> tuple[Path, Path]:
    config = etc / "maa.toml"
    server = f'[server]\nuser = "{user}"\n' if user else ""
    config.write_text(server + '[auth]\npasswd_file = "users"\n')
    users = etc / "users"
    users.write_text("# the admin's comment\nold@example.test:{PLAIN}x::::::\n")
    os.chown(users, 0, gid)
    users.chmod(mode)
    return config, users


def test_user_edits_keep_owner_group_and_mode(etc: Path) -> None:
    config, users = _setup(etc, mode=0o640, gid=NOGROUP)
    steps = [
        ("user", "add", "-c", str(config), "new@example.test", "-p", "pw1"),
        ("user", "passwd", "-c", str(config), "new@example.test", "-p", "pw2"),
        ("user", "del", "-c", str(config), "old@example.test"),
    ]
    for step in steps:
        result = maa(*step)
        assert result.returncode == 0, result.stderr
        st = users.stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, NOGROUP, 0o640), step
    assert users.read_text().startswith("# the admin's comment\nnew@example.test:")
    assert maa("auth", "test", "-c", str(config), "new@example.test", "pw2").returncode == 0
    assert not [p for p in etc.iterdir() if p.name.startswith(".users.")]


def test_check_warns_when_the_server_user_cannot_reread_users(etc: Path) -> None:
    config, users = _setup(etc, mode=0o600, gid=0, user="nobody")
    assert not readable_by(users, "nobody")
    result = maa("check", "-c", str(config))
    assert f"warning: {users}: users file not readable by user nobody" in result.stdout
    group = grp.getgrgid(NOGROUP).gr_name
    assert f"chgrp {group} {users} && chmod 0640 {users}" in result.stdout
    os.chown(users, 0, NOGROUP)
    users.chmod(0o640)
    assert readable_by(users, "nobody")
    result = maa("check", "-c", str(config))
    assert "not readable" not in result.stdout


def _wait_for(server: RunningServer, text: str, count: int = 1) -> None:
    deadline = time.monotonic() + 20
    while server.log_text().count(text) < count:
        assert server.process.poll() is None, server.log_text()
        assert time.monotonic() < deadline, f"no {text!r} in:\n{server.log_text()}"
        time.sleep(0.05)


def _pop3_login(server: RunningServer, user: str, password: str) -> bool:
    client = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=10)
    try:
        client.user(user)
        client.pass_(password)
        return True
    except poplib.error_proto:
        return False
    finally:
        client.quit()


def test_serve_as_root_with_user_keeps_users_when_the_file_turns_unreadable(
    etc: Path,
) -> None:
    with running_server(etc / "server", server={"user": "nobody"}) as server:
        _wait_for(server, "dropped privileges to nobody")
        users = server.config.parent / "users"
        os.chown(users, 0, 0)
        users.chmod(0o600)
        with users.open("a") as out:
            out.write("late@example.test:{PLAIN}late::::::\n")
        server.process.send_signal(signal.SIGHUP)
        _wait_for(server, "Permission denied: keeping the last read; make it readable by uid")
        _wait_for(server, "SIGHUP: users file reread")
        # What was read as root keeps working; the new line is not known yet.
        assert _pop3_login(server, "dave@example.test", "secret")
        assert not _pop3_login(server, "late@example.test", "late")
        # The admin fixes the permissions (no content change) and sends SIGHUP again.
        os.chown(users, 0, NOGROUP)
        users.chmod(0o640)
        server.process.send_signal(signal.SIGHUP)
        _wait_for(server, "SIGHUP: users file reread", count=2)
        assert _pop3_login(server, "late@example.test", "late")
        assert server.stop() == 0


def test_serve_as_root_warns_at_start_when_user_cannot_reread_users(etc: Path) -> None:
    directory = etc / "server"
    private = directory / "private"
    private.mkdir(parents=True, mode=0o700)  # nobody cannot reach the users file inside
    (private / "users").write_text(users_file_text())
    auth = {"passwd_file": "private/users", "failure_delay": 0.1}
    with running_server(directory, server={"user": "nobody"}, auth=auth) as server:
        _wait_for(server, f"users file {private / 'users'} not readable by user nobody")
        assert _pop3_login(server, "dave@example.test", "secret")
        assert server.stop() == 0
