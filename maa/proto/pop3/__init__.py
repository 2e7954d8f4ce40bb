"""The sans-I/O POP3 server core (RFC 1939, 2449, 2595, 3206, 5034).

``Pop3Session`` takes bytes and returns actions (``events``); ``MessageEncoder`` turns a
message's CRLF form into what RETR and TOP send; ``MaildropView`` is one session's numbered
message list. Nothing here does I/O: ``maa.pop3`` is the Twisted glue.
"""

from maa.proto.pop3.encoder import MessageEncoder
from maa.proto.pop3.events import (
    Action,
    Authenticate,
    Close,
    LoginFailure,
    SendMessage,
    StartTLS,
    Update,
    Write,
)
from maa.proto.pop3.maildrop import Entry, MaildropView, uidl
from maa.proto.pop3.session import Pop3Session, SessionStats
from maa.proto.pop3.states import State

__all__ = [
    "Action",
    "Authenticate",
    "Close",
    "Entry",
    "LoginFailure",
    "MaildropView",
    "MessageEncoder",
    "Pop3Session",
    "SendMessage",
    "SessionStats",
    "StartTLS",
    "State",
    "Update",
    "Write",
    "uidl",
]
