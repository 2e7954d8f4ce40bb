"""``maa check`` and ``maa serve`` refuse listen strings Twisted cannot parse and a
``[server] user`` the system does not have, naming the key, before anything binds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BAD_ENDPOINTS = [
    ("imap", "listen", "tcpx:1", "unknown endpoint type 'tcpx'"),
    ("imap", "listen_tls", "tcp:99999", "port 99999 out of range"),
    ("pop3", "listen", "tcp:abc", "bad endpoint 'tcp:abc'"),
    ("pop3", "listen_tls", "tcp:10995:bogus=1", "unknown option 'bogus'"),
    ("lmtp", "listen", "nope:lmtp.sock", "unknown endpoint type 'nope'"),
    ("submission", "listen", "tcp:70000", "port 70000 out of range"),
    ("submission", "listen_tls", "tcpx:10465", "unknown endpoint type 'tcpx'"),
    ("smtp", "listen", "tcp:", "bad endpoint 'tcp:'"),
]


def maa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "maa", *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(("section", "key", "endpoint", "message"), BAD_ENDPOINTS)
def test_check_and_serve_refuse_a_bad_endpoint(
    tmp_path: Path, section: str, key: str, endpoint: str, message: str
) -> None:
    config = tmp_path / "maa.toml"
    config.write_text(f'[{section}]\n{key} = ["{endpoint}"]\n')
    checked = maa("check", "-c", str(config))
    assert checked.returncode == 1
    assert f"{config}: {section}.{key}: " in checked.stdout
    assert message in checked.stdout
    served = maa("serve", "-c", str(config))
    assert served.returncode == 78
    assert f"{config}: {section}.{key}: " in served.stderr
    assert message in served.stderr
    assert not (tmp_path / "var" / "maa.pid").exists()


def test_good_endpoints_pass(tmp_path: Path) -> None:
    config = tmp_path / "maa.toml"
    config.write_text(
        '[imap]\nlisten = ["tcp:0:interface=127.0.0.1", "tcp6:0:interface=\\\\:\\\\:1"]\n'
        '[lmtp]\nlisten = ["unix:lmtp.sock:mode=660"]\n'
    )
    result = maa("config", "-c", str(config))
    assert result.returncode == 0, result.stderr
    assert "[imap]" in result.stdout


def test_check_and_serve_refuse_an_unknown_server_user(tmp_path: Path) -> None:
    config = tmp_path / "maa.toml"
    config.write_text('[server]\nuser = "no-such-maa-user"\n')
    checked = maa("check", "-c", str(config))
    assert checked.returncode == 1
    assert "server.user: no such user 'no-such-maa-user'" in checked.stdout
    served = maa("serve", "-c", str(config))
    assert served.returncode == 78
    assert "server.user: no such user 'no-such-maa-user'" in served.stderr
