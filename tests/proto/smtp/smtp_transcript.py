"""Drive a sans-I/O ``SmtpEngine`` in tests: feed bytes, answer decisions, read replies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from maa.proto.smtp import Dialect, Reply, Settings, SmtpEngine
from maa.proto.smtp import events as ev
from maa.proto.smtp.replies import S235_AUTH_OK, S250_RCPT_OK, S250_SENDER_OK

Decide = Callable[[ev.Event], Reply | None]


def accept_all(event: ev.Event) -> Reply | None:
    if isinstance(event, ev.MailFrom):
        return S250_SENDER_OK
    if isinstance(event, ev.RcptTo):
        if event.address.startswith("nobody"):
            return Reply(550, "5.1.1", f"<{event.address}> User doesn't exist")
        return S250_RCPT_OK
    if isinstance(event, ev.MessageEnd):
        return Reply(250, "2.0.0", "Saved")
    if isinstance(event, ev.AuthCredentials):
        return S235_AUTH_OK if event.password == "secret" else Reply(535, "5.7.8", "Bad")
    return None


@dataclass
class Session:
    dialect: Dialect = Dialect.LMTP
    max_message_size: int = 10_000
    decide: Decide | None = accept_all
    settings_extra: dict[str, object] = field(default_factory=dict)
    events: list[ev.Event] = field(default_factory=list)
    messages: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        settings = Settings(
            self.dialect, "mx.example.test", self.max_message_size, **self.settings_extra
        )  # type: ignore[arg-type]
        self.engine = SmtpEngine(settings)
        self._body: list[bytes] = []
        self.greeting = self.engine.data_to_send()

    def pump(self) -> None:
        while (event := self.engine.next_event()) is not None:
            self.events.append(event)
            if isinstance(event, ev.MessageStart):
                self._body = []
            elif isinstance(event, ev.MessageChunk):
                self._body.append(event.data)
            elif isinstance(event, ev.MessageEnd):
                self.messages.append(b"".join(self._body))
            elif isinstance(event, ev.StartTlsRequested):
                continue
            if self.decide is not None and self.engine.pending is event:
                reply = self.decide(event)
                if reply is not None:
                    self.engine.answer(reply)

    def send(self, data: bytes) -> bytes:
        self.engine.receive_data(data)
        self.pump()
        return self.engine.data_to_send()

    def codes(self, data: bytes) -> list[int]:
        return reply_codes(self.send(data))

    def of_type(self, kind: type) -> list[ev.Event]:
        return [e for e in self.events if isinstance(e, kind)]


def reply_codes(out: bytes) -> list[int]:
    """The code of each final reply line (multi-line replies count once)."""
    return [int(line[:3]) for line in out.split(b"\r\n") if line[3:4] == b" "]
