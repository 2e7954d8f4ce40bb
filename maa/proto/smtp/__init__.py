"""The SMTP/LMTP server engine shared by LMTP intake and the SMTP front (Dovecot's
``lib-smtp``): sans-I/O, no Twisted, socket, clock or storage in here.

- ``SmtpEngine(Settings(Dialect.LMTP | Dialect.SMTP, hostname, max_message_size, ...))``:
  feed it with ``receive_data``, pull ``next_event()`` until None, send ``data_to_send()``.
  See ``maa.proto.smtp.engine`` for the loop and ``maa.proto.smtp.events`` for what each
  event asks of the glue.
- Decisions: ``answer(Reply)``; LMTP end of data: ``answer_recipient(i, Reply)``.
- ``Reply`` and the named replies (``S250_OK``...) are in ``maa.proto.smtp.replies``.
"""

from maa.proto.smtp.engine import (
    MAX_COMMAND_LINE,
    MAX_ERRORS,
    MAX_RECIPIENTS,
    Dialect,
    Settings,
    SmtpEngine,
)
from maa.proto.smtp.events import (
    AuthCredentials,
    Closing,
    Event,
    Hello,
    MailFrom,
    MessageChunk,
    MessageEnd,
    MessageStart,
    RcptTo,
    StartTlsRequested,
    TransactionReset,
)
from maa.proto.smtp.replies import Reply

__all__ = [
    "MAX_COMMAND_LINE",
    "MAX_ERRORS",
    "MAX_RECIPIENTS",
    "AuthCredentials",
    "Closing",
    "Dialect",
    "Event",
    "Hello",
    "MailFrom",
    "MessageChunk",
    "MessageEnd",
    "MessageStart",
    "RcptTo",
    "Reply",
    "Settings",
    "SmtpEngine",
    "StartTlsRequested",
    "TransactionReset",
]
