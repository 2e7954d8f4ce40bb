"""What the POP3 core asks its glue to do. The glue carries out each action in order; the
ones marked *waits* stop the core until the glue reports back through the session method
named, so pipelined commands are answered strictly in order."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class Write:
    data: bytes


@dataclass(frozen=True)
class Authenticate:
    """Check the password and lock the maildrop (*waits*: ``login_succeeded`` or
    ``login_failed``). ``password`` was decoded with ``surrogateescape``: encode it the same
    way to get the client's bytes back."""

    user: str
    password: str
    mechanism: str  # PLAIN or LOGIN (USER/PASS is reported as PLAIN, as Dovecot does)


@dataclass(frozen=True)
class StartTLS:
    """Start the TLS handshake now; the ``+OK`` has been written just before."""


@dataclass(frozen=True)
class SendMessage:
    """Open the message, write ``header``, then its body through a ``MessageEncoder`` made
    with ``body_lines`` (*waits*: ``send_finished`` or, if it cannot be opened,
    ``send_failed``)."""

    uid: int
    header: bytes
    body_lines: int | None  # None for RETR, N for TOP


@dataclass(frozen=True)
class Update:
    """The UPDATE state: flag ``expunge`` \\Deleted and expunge them, flag ``seen`` \\Seen
    (*waits*: ``update_finished``)."""

    expunge: tuple[int, ...]
    seen: tuple[int, ...]


@dataclass(frozen=True)
class Close:
    """Close the connection once what was written has been sent."""


Action = Write | Authenticate | StartTLS | SendMessage | Update | Close


class LoginFailure(enum.Enum):
    BAD_CREDENTIALS = "auth failed"
    MAILDROP_LOCKED = "mailbox in use"
    MAILDROP_UNAVAILABLE = "temporary failure"
