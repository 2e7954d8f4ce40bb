"""The POP3 listener's factory, as ``maa.service`` expects of every front end."""

from __future__ import annotations

from typing import Any

from twisted.internet.protocol import ServerFactory

from maa.context import ServerContext
from maa.pop3.protocol import Pop3Protocol


class Pop3Factory(ServerFactory):
    def __init__(self, ctx: ServerContext, *, implicit_tls: bool) -> None:
        self.ctx = ctx
        self.implicit_tls = implicit_tls

    def buildProtocol(self, addr: Any) -> Pop3Protocol:
        p = Pop3Protocol(self.ctx, implicit_tls=self.implicit_tls)
        p.factory = self
        return p


def build_factory(ctx: ServerContext, *, implicit_tls: bool) -> Pop3Factory:
    """POP3 on ``[pop3] listen`` (STLS inside) or, with ``implicit_tls``, on ``listen_tls``
    once ``maa.service`` has wrapped the factory in TLS."""
    return Pop3Factory(ctx, implicit_tls=implicit_tls)
