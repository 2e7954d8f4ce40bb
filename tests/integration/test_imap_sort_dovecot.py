"""SORT and THREAD on the fixed corpus, answered by Debian's Dovecot and by maa.

The test runs both servers and compares every answer. Run this file as a script with
``--write`` to record Dovecot's answers in ``tests/imap/fixtures/sort_dovecot.json``, which
``tests/imap/test_sort_thread.py`` compares maa against without needing Dovecot.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from support import listen

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "imap"))
import sortcorpus  # noqa: E402

FIXTURE = HERE.parent / "imap" / "fixtures" / "sort_dovecot.json"
_SBIN = Path("/usr/sbin/dovecot")
DOVECOT = shutil.which("dovecot") or (str(_SBIN) if _SBIN.exists() else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LineClient:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""
        self.n = 0
        self.line()

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(self.buf)
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def command(self, text: bytes, literal: bytes | None = None) -> list[bytes]:
        self.n += 1
        tag = b"S%03d" % self.n
        if literal is None:
            self.sock.sendall(tag + b" " + text + b"\r\n")
        else:
            self.sock.sendall(tag + b" " + text + b" {%d}\r\n" % len(literal))
            assert self.line().startswith(b"+")
            self.sock.sendall(literal + b"\r\n")
        lines = []
        while True:
            line = self.line()
            if line.startswith(tag + b" "):
                assert line.startswith(tag + b" OK"), (text, line)
                return lines
            lines.append(line)


def load_corpus(client: LineClient) -> None:
    for minutes, message in sortcorpus.CORPUS:
        date = sortcorpus.internal_date(minutes).encode()
        client.command(b'APPEND INBOX "' + date + b'"', message)
    client.command(b"SELECT INBOX")


def answers(client: LineClient) -> dict[str, str]:
    out: dict[str, str] = {}
    for command in sortcorpus.COMMANDS:
        lines = client.command(command.encode())
        word = b"* THREAD" if "THREAD" in command else b"* SORT"
        found = [line for line in lines if line.startswith(word)]
        assert len(found) == 1, (command, lines)
        out[command] = found[0].decode()
    return out


def start_dovecot(work: Path) -> tuple[subprocess.Popen[bytes], int]:
    assert DOVECOT is not None
    port = _free_port()
    mail = work / "mail"
    mail.mkdir()
    me = pwd.getpwuid(os.getuid())
    owner = pwd.getpwnam("dovecot") if os.getuid() == 0 else me
    if os.getuid() == 0:
        os.chown(mail, owner.pw_uid, owner.pw_gid)
    (work / "users").write_text("alice:{PLAIN}secret::::::\n")
    conf = work / "dovecot.conf"
    conf.write_text(
        f"""
base_dir = {work}/run
state_dir = {work}/state
log_path = {work}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
mail_location = maildir:{mail}
first_valid_uid = {owner.pw_uid}
first_valid_gid = {owner.pw_gid}
default_internal_user = {me.pw_name if os.getuid() else "dovecot"}
default_login_user = {me.pw_name if os.getuid() else "dovenull"}
passdb {{
  driver = passwd-file
  args = {work}/users
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={work}/home
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
    )
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], cwd=work)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process, port
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("dovecot did not start")


def dovecot_answers() -> dict[str, str]:
    work = Path(tempfile.mkdtemp(prefix="maa-sort-dovecot-"))
    os.chmod(work, 0o755)
    process, port = start_dovecot(work)
    try:
        client = LineClient(port)
        client.command(b"LOGIN alice secret")
        load_corpus(client)
        return answers(client)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def dovecot() -> Iterator[dict[str, str]]:
    if DOVECOT is None:
        pytest.skip("dovecot is not installed")
    yield dovecot_answers()


@pytest.mark.integration
def test_dovecot_still_gives_the_recorded_answers(dovecot: dict[str, str]) -> None:
    """The fixture maa is compared with is what this Dovecot answers."""
    assert dovecot == json.loads(FIXTURE.read_text())


@pytest.mark.integration
@pytest_twisted.inlineCallbacks
def test_maa_on_maildir_answers_as_dovecot(dovecot: dict[str, str], ctx: Any) -> None:
    """The same corpus through maa's Maildir driver, compared with Dovecot live."""
    from twisted.internet import threads

    from maa.imap.server import build_factory

    port = listen(build_factory(ctx, implicit_tls=False))

    def run() -> dict[str, str]:
        client = LineClient(port)
        client.command(b"LOGIN alice@example.test secret")
        load_corpus(client)
        return answers(client)

    got = yield threads.deferToThread(run)
    assert got == dovecot


if __name__ == "__main__":
    if "--write" in sys.argv:
        FIXTURE.write_text(json.dumps(dovecot_answers(), indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {FIXTURE}")
    else:
        print(json.dumps(dovecot_answers(), indent=1))
