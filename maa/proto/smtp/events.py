"""What the engine tells its glue. Three kinds:

- information (``Hello``, ``MessageStart``, ``MessageChunk``, ``TransactionReset``,
  ``Closing``): act on it, no answer;
- decisions (``MailFrom``, ``RcptTo``, ``MessageEnd``, ``AuthCredentials``): the engine stops
  reading commands until the glue answers with ``SmtpEngine.answer`` (or, for an LMTP
  ``MessageEnd``, ``answer_recipient`` once per recipient) — now or later;
- an action (``StartTlsRequested``): write out what the engine has to send, start TLS on the
  transport, then call ``SmtpEngine.tls_started``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Hello:
    verb: str  # EHLO, HELO or LHLO
    domain: str


@dataclass(frozen=True, slots=True)
class MailFrom:
    """Answer 250 to accept the sender (a transaction begins), anything else to refuse."""

    address: str  # "" for the null sender <>
    params: Mapping[str, str | None] = field(default_factory=dict)  # SIZE BODY SMTPUTF8 RET ENVID


@dataclass(frozen=True, slots=True)
class RcptTo:
    """Answer 250 to accept the recipient; e.g. 550 5.1.1 for an unknown user."""

    address: str
    params: Mapping[str, str | None] = field(default_factory=dict)  # NOTIFY ORCPT (SMTP)


@dataclass(frozen=True, slots=True)
class MessageStart:
    """DATA was accepted (354 sent) or the first BDAT chunk begins: open the spool."""

    via: str  # "DATA" or "BDAT"


@dataclass(frozen=True, slots=True)
class MessageChunk:
    """Content, in order: dot-unstuffed, CRLF line ends (DATA) or as sent (BDAT)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class MessageEnd:
    """All content was delivered in ``MessageChunk``s. SMTP: one ``answer``. LMTP: one
    ``answer_recipient(i, reply)`` per recipient, in any order, at any time; the engine sends
    them in recipient order (RFC 2033 4.2)."""

    sender: str
    recipients: tuple[RcptTo, ...]


@dataclass(frozen=True, slots=True)
class TransactionReset:
    """Forget the sender, recipients and any content received (RSET, a new HELO, STARTTLS,
    a message over the size limit...)."""

    reason: str


@dataclass(frozen=True, slots=True)
class StartTlsRequested:
    pass


@dataclass(frozen=True, slots=True)
class AuthCredentials:
    """Check them (``Portal.login``); answer 235 to log in, 535 5.7.8 to refuse."""

    mechanism: str
    authzid: str
    authcid: str
    password: str


@dataclass(frozen=True, slots=True)
class Closing:
    """Write out what is left to send, then close the connection."""

    reason: str


Event = (
    Hello
    | MailFrom
    | RcptTo
    | MessageStart
    | MessageChunk
    | MessageEnd
    | TransactionReset
    | StartTlsRequested
    | AuthCredentials
    | Closing
)
