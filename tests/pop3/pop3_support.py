"""What the POP3 tests share: an in-process server over real sockets and a message filler."""

from __future__ import annotations

import poplib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support import PASSWORD, client_ssl_context, listen, write_config

from maa.auth.model import MailUser
from maa.config import load_config
from maa.context import ServerContext
from maa.storage.interface import INBOX, Folder, MailStore

ALICE = "alice@example.test"
BOB = "bob@example.test"


@dataclass
class Pop3Server:
    ctx: ServerContext
    port: int
    tls_port: int

    def user(self, login: str = ALICE) -> MailUser:
        user = self.ctx.userdb.lookup(login)
        assert user is not None
        return user

    def store(self, login: str = ALICE) -> MailStore:
        store = self.ctx.stores.open(self.user(login))
        store.ensure_defaults()
        return store

    def inbox(self, login: str = ALICE) -> Folder:
        return self.store(login).folder(INBOX)

    def deliver(
        self, *messages: bytes, login: str = ALICE, flags: tuple[str, ...] = ()
    ) -> list[int]:
        inbox = self.inbox(login)
        return [inbox.append(m, flags) for m in messages]

    def client(self, login: str | None = ALICE, timeout: float = 10) -> poplib.POP3:
        """A poplib client, logged in with USER/PASS when ``login`` is given (loopback
        connections may send passwords without TLS)."""
        client = poplib.POP3("127.0.0.1", self.port, timeout=timeout)
        if login is not None:
            client.user(login)
            client.pass_(PASSWORD)
        return client

    def tls_client(self, login: str | None = ALICE, timeout: float = 10) -> poplib.POP3_SSL:
        client = poplib.POP3_SSL(
            "127.0.0.1", self.tls_port, timeout=timeout, context=client_ssl_context()
        )
        if login is not None:
            client.user(login)
            client.pass_(PASSWORD)
        return client


_CERTIFICATE: list[tuple[bytes, bytes]] = []


def _install_certificate(data_dir: Path) -> None:
    """One self-signed pair for every test server, made at test time once per run."""
    from maa.tls import make_self_signed

    if not _CERTIFICATE:
        _CERTIFICATE.append(make_self_signed("mail.example.test"))
    cert, key = _CERTIFICATE[0]
    (data_dir / "tls").mkdir(parents=True, exist_ok=True)
    (data_dir / "tls" / "cert.pem").write_bytes(cert)
    (data_dir / "tls" / "key.pem").write_bytes(key)


def start_pop3(directory: Path, **sections: dict[str, Any]) -> Pop3Server:
    from twisted.internet import reactor

    from maa.pop3.server import build_factory
    from maa.service import build_context
    from maa.tls import wrap_implicit

    config = load_config(write_config(directory, **sections))
    if not Path(config.tls.cert).exists():
        _install_certificate(config.data_dir)
    ctx = build_context(config, reactor)
    port = listen(build_factory(ctx, implicit_tls=False))
    tls_port = listen(wrap_implicit(build_factory(ctx, implicit_tls=True), ctx.tls))
    return Pop3Server(ctx, port, tls_port)


def message(n: int, body: bytes = b"") -> bytes:
    return (
        f"From: sender@example.test\r\nTo: {ALICE}\r\nSubject: message {n}\r\n"
        f"Message-ID: <{n}@example.test>\r\n\r\n"
    ).encode() + (body or f"Body of message {n}.\r\n".encode())
