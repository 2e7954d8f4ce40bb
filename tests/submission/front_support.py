"""An in-process SMTP front (submission, implicit-TLS submission and port 25 listeners) with
its queue manager running, for tests that drive it with real clients in threads."""

from __future__ import annotations

import email
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import pytest_twisted
from support import listen

from maa.context import ServerContext


class Front:
    def __init__(self, ctx: ServerContext) -> None:
        from maa.queue.service import build_service
        from maa.submission.server import build_factory, build_mx_factory
        from maa.tls import wrap_implicit

        self.ctx = ctx
        self.service: Any = build_service(ctx)
        self.service.startService()
        self.submission = listen(build_factory(ctx, implicit_tls=False))
        self.submissions = listen(wrap_implicit(build_factory(ctx, implicit_tls=True), ctx.tls))
        self.mx = listen(build_mx_factory(ctx))

    def stop(self) -> None:
        if self.service.running:
            pytest_twisted.blockon(self.service.stopService())

    def inbox(self, login: str) -> list[email.message.Message]:
        user = self.ctx.userdb.lookup(login)
        assert user is not None
        folder = self.ctx.stores.open(user).folder("INBOX")
        return [email.message_from_bytes(folder.read(m.uid)) for m in folder.messages()]

    def wait_inbox(self, login: str, count: int = 1, timeout: float = 10.0) -> Any:
        """A Deferred firing with the INBOX once it holds ``count`` messages."""
        from twisted.internet import reactor, task

        deadline = time.monotonic() + timeout

        def check() -> Any:
            messages = self.inbox(login)
            if len(messages) >= count:
                return messages
            if time.monotonic() > deadline:
                raise AssertionError(f"{login}: {len(messages)} messages, wanted {count}")
            return task.deferLater(reactor, 0.05, check)

        return task.deferLater(reactor, 0, check)


@pytest.fixture
def front(make_ctx: Callable[..., ServerContext]) -> Iterator[Callable[..., Front]]:
    made: list[Front] = []

    def make(**kw: Any) -> Front:
        f = Front(make_ctx(**kw))
        made.append(f)
        return f

    yield make
    for f in made:
        f.stop()
