"""Helpers the tests of every front end share: listening sockets, TLS clients, free ports,
and a ``maa serve`` subprocess."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent

USERS = {
    "alice@example.test": "{PLAIN}secret",
    "bob@example.test": "{PLAIN}secret",
    "carol": "{PLAIN}secret",
    # Made by Dovecot 2.3's `doveadm pw -s SHA512-CRYPT -p secret`.
    "dave@example.test": "{SHA512-CRYPT}$6$YS7pc6OGOyBITDFx$8/4/gcrV/OANf/sAOIvEZtPPWYiNGXYCWR2"
    "B2dp9etcZhVSNtQFJt5VTal2/BsKvDQ8X1sQUPVoP2.9DrPaBW0",
}
PASSWORD = "secret"


def users_file_text(users: dict[str, str] = USERS) -> str:
    return "".join(f"{name}:{hashed}::::::\n" for name, hashed in users.items())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(directory: Path, extra: str = "", **sections: dict[str, Any]) -> Path:
    """A config file in ``directory`` with data under ``directory/var``, the test users, a
    short failure delay, and the given section overrides (``imap={"listen": [...]}``)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "users").write_text(users_file_text())
    base: dict[str, dict[str, Any]] = {
        "server": {"hostname": "mail.example.test", "data_dir": "var"},
        "auth": {"passwd_file": "users", "failure_delay": 0.1},
        "mail": {"location": "maildir:mail/%d/%n"},
        "imap": {"listen": ["tcp:0:interface=127.0.0.1"], "listen_tls": []},
        "pop3": {"listen": ["tcp:0:interface=127.0.0.1"], "listen_tls": []},
        "lmtp": {"listen": ["tcp:0:interface=127.0.0.1"]},
        "submission": {"listen": ["tcp:0:interface=127.0.0.1"], "listen_tls": []},
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    lines: list[str] = []
    for name, values in base.items():
        lines.append(f"[{name}]")
        for key, value in values.items():
            lines.append(f"{key} = {_toml(value)}")
        lines.append("")
    path = directory / "maa.toml"
    path.write_text("\n".join(lines) + extra)
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def listen(factory: Any, interface: str = "127.0.0.1") -> int:
    """Listen on a free loopback port for the rest of the test; returns the port."""
    from twisted.internet import reactor

    port = reactor.listenTCP(0, factory, interface=interface)  # type: ignore[attr-defined]
    _LISTENING.append(port)
    return int(port.getHost().port)


_LISTENING: list[Any] = []


def stop_listening() -> Any:
    """Called by conftest after each test; returns a Deferred for the ports to close."""
    from twisted.internet import defer

    ports = list(_LISTENING)
    _LISTENING.clear()
    return defer.gatherResults([defer.maybeDeferred(p.stopListening) for p in ports])


def client_ssl_context() -> ssl.SSLContext:
    """A client context for test-made certificates: no verification."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@dataclass
class RunningServer:
    """A ``maa serve`` subprocess on free loopback ports."""

    config: Path
    ports: dict[str, int]
    process: subprocess.Popen[bytes]
    log: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.config.parent / "var"

    def maildir(self, user: str, domain: str = "example.test") -> Path:
        return self.data_dir / "mail" / domain / user

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)


SERVE_PORTS = ("imap", "imaps", "pop3", "pop3s", "lmtp", "submission", "submissions")


def start_server(directory: Path, extra: str = "", **sections: dict[str, Any]) -> RunningServer:
    """Write a config with a free port for every listener and start ``maa serve`` on it;
    returns once every port accepts connections. A port found free can be taken before the
    server binds it (an outgoing connection's ephemeral port, or one still closing after a
    kill -9): the start is then tried again on fresh ports."""
    for _ in range(BIND_ATTEMPTS):
        try:
            return _start_server(directory, extra, **sections)
        except _PortTaken as taken:
            log = str(taken)
    pytest.fail(f"maa serve found a port taken {BIND_ATTEMPTS} times:\n{log}")


BIND_ATTEMPTS = 4


class _PortTaken(Exception):
    pass


def _start_server(directory: Path, extra: str = "", **sections: dict[str, Any]) -> RunningServer:
    ports = {name: free_port() for name in SERVE_PORTS}
    ep = "tcp:{}:interface=127.0.0.1".format
    defaults: dict[str, dict[str, Any]] = {
        "imap": {"listen": [ep(ports["imap"])], "listen_tls": [ep(ports["imaps"])]},
        "pop3": {"listen": [ep(ports["pop3"])], "listen_tls": [ep(ports["pop3s"])]},
        "lmtp": {"listen": [ep(ports["lmtp"]), "unix:lmtp.sock"]},
        "submission": {
            "listen": [ep(ports["submission"])],
            "listen_tls": [ep(ports["submissions"])],
        },
    }
    for name, values in sections.items():
        defaults.setdefault(name, {}).update(values)
    config = write_config(directory, extra, **defaults)
    log = directory / "maa.log"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "maa", "serve", "-c", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=directory,
        )
    server = RunningServer(config, ports, process, log)
    wanted = [p for name, p in ports.items() if _configured(defaults, name)]
    deadline = time.monotonic() + 20
    while not all(_accepts(p) for p in wanted):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop(signal.SIGKILL)
            if "Address already in use" in server.log_text():
                raise _PortTaken(server.log_text())
            pytest.fail(f"maa serve did not start:\n{server.log_text()}")
        time.sleep(0.05)
    return server


def _configured(sections: dict[str, dict[str, Any]], port_name: str) -> bool:
    section = {"imaps": "imap", "pop3s": "pop3", "submissions": "submission"}.get(
        port_name, port_name
    )
    key = "listen_tls" if port_name in ("imaps", "pop3s", "submissions") else "listen"
    return bool(sections.get(section, {}).get(key))


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def running_server(directory: Path, extra: str = "", **sections: Any) -> Iterator[RunningServer]:
    server = start_server(directory, extra, **sections)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.stop()
