"""A real SMTP server on loopback for the relay tests: aiosmtpd in its own thread, recording
what it is given and refusing what it is told to refuse."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


@dataclass
class Received:
    sender: str
    recipients: list[str]
    content: bytes
    auth_user: str | None = None
    tls: bool = False


@dataclass
class SinkHandler:
    messages: list[Received] = field(default_factory=list)
    # address -> reply ("550 5.1.1 no such user") given at RCPT
    refuse: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before answering DATA (a slow next hop).
    data_delay: float = 0.0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        auth = session.auth_data.login.decode() if session.auth_data else None
        self.messages.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content,
                auth,
                session.ssl is not None,
            )
        )
        return f"250 2.0.0 Ok: queued as SINK{len(self.messages)}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    """``with Sink() as sink:`` — ``sink.port``, ``sink.handler.messages``."""

    def __init__(
        self,
        port: int | None = None,
        *,
        tls: tuple[Path, Path] | None = None,
        credentials: tuple[str, str] | None = None,
        smtputf8: bool = True,
        tls_setup: Callable[[ssl.SSLContext], None] | None = None,
    ) -> None:
        """``tls_setup``: called with the STARTTLS context, to make it odd."""
        self.port = port or free_port()
        self.handler = SinkHandler()
        kwargs: dict[str, Any] = {"enable_SMTPUTF8": smtputf8}
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            if tls_setup is not None:
                tls_setup(context)
            kwargs["tls_context"] = context
        if credentials is not None:

            def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
                ok = (data.login.decode(), data.password.decode()) == credentials
                return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

            kwargs.update(authenticator=check, auth_require_tls=False)
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=10, **kwargs
        )

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def start(self) -> Sink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> Sink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
