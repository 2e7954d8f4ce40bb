"""A queued message's envelope: who sent it, to whom, and how far delivery has got.

The envelope is stored as one small JSON file next to the (immutable) content file, so an admin
can read it with ``cat`` and the queue manager can record a recipient's fate with one atomic
rewrite of a few hundred bytes instead of rewriting the message.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

# pending: not tried yet; deferred: tried, will be retried; sent: acknowledged by the next hop
# or stored locally; bounced: failed for good (the sender gets a DSN unless it is <>).
RecipientStatus = Literal["pending", "deferred", "sent", "bounced"]
FINAL_STATUSES: frozenset[str] = frozenset({"sent", "bounced"})

ENVELOPE_VERSION = 1


@dataclass(frozen=True)
class Recipient:
    address: str
    # The address the client gave, before alias expansion (Postfix's orig_to).
    original: str
    status: RecipientStatus = "pending"
    # The last reply or reason ("250 2.0.0 Ok", "connect to ...: Connection refused").
    reason: str = ""
    # An RFC 3463 status code for the DSN ("5.1.1"), when the reason carries one.
    dsn_status: str = ""
    # The host that answered (for the DSN's Remote-MTA and the log's relay=).
    remote: str = ""
    # RFC 3461 parameters of RCPT TO, passed through.
    notify: tuple[str, ...] = ()
    orcpt: str | None = None
    # True once a DSN about this recipient is safely queued, so a crash never sends two.
    notified: bool = False

    @property
    def done(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class ClientInfo:
    """Where a message came from: for the Received header, logs and header_checks."""

    host: str = "localhost"
    address: str = "127.0.0.1"
    helo: str = ""
    # RFC 3848 protocol name: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA; "local" for sendmail.
    protocol: str = "ESMTP"
    sasl_method: str | None = None
    sasl_username: str | None = None

    @property
    def label(self) -> str:
        """``host[ip]`` as Postfix logs a client."""
        return f"{self.host}[{self.address}]"


@dataclass(frozen=True)
class Envelope:
    queue_id: str
    sender: str  # "" for the null sender <>
    recipients: tuple[Recipient, ...]
    arrival: float
    size: int
    client: ClientInfo = field(default_factory=ClientInfo)
    next_attempt: float = 0.0
    attempts: int = 0
    # RFC 3461 MAIL FROM parameters.
    ret: str | None = None  # "FULL" or "HDRS"
    envid: str | None = None
    message_id: str = ""

    @property
    def pending(self) -> tuple[Recipient, ...]:
        return tuple(r for r in self.recipients if not r.done)

    @property
    def finished(self) -> bool:
        return all(r.done for r in self.recipients)

    def with_recipient(self, index: int, recipient: Recipient) -> Envelope:
        rcpts = list(self.recipients)
        rcpts[index] = recipient
        return replace(self, recipients=tuple(rcpts))

    def to_json(self) -> bytes:
        data: dict[str, Any] = asdict(self)
        data["version"] = ENVELOPE_VERSION
        return json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8") + b"\n"

    @classmethod
    def from_json(cls, raw: bytes) -> Envelope:
        data = json.loads(raw)
        data.pop("version", None)
        rcpts = tuple(
            Recipient(**{**r, "notify": tuple(r.get("notify", ()))}) for r in data["recipients"]
        )
        client = ClientInfo(**data.get("client", {}))
        data.update(recipients=rcpts, client=client)
        return cls(**data)
