"""What one IMAP connection knows, apart from its socket: state, user, store, selected view.

Command executors take a ``Session``, append untagged lines to ``session.out`` and return a
``Reply`` (the tagged completion). The Twisted protocol in ``server.py`` owns the session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from maa.auth.model import MailUser
from maa.context import ServerContext
from maa.imap.selected import SelectedView
from maa.imap.streaming import StreamedLiteral
from maa.proto.imap import response
from maa.proto.imap.state import ConnectionState, State
from maa.storage.interface import MailStore

# Extensions offered once logged in; each is implemented in full (RFC numbers beside).
EXTENSIONS = (
    "IMAP4rev1",
    "SASL-IR",  # 4959
    "LITERAL+",  # 7888
    "ID",  # 2971
    "ENABLE",  # 5161
    "IDLE",  # 2177
    "NAMESPACE",  # 2342
    "UIDPLUS",  # 4315
    "MOVE",  # 6851
    "UNSELECT",  # 3691
    "CHILDREN",  # 3348
    "SPECIAL-USE",  # 6154
    "CONDSTORE",  # 7162
    "QRESYNC",  # 7162
    "COMPRESS=DEFLATE",  # 4978
    "LIST-EXTENDED",  # 5258
    "LIST-STATUS",  # 5819
    "ESEARCH",  # 4731
    "SORT",  # 5256
    "SORT=DISPLAY",  # 5957
    "THREAD=ORDEREDSUBJECT",  # 5256
    "THREAD=REFERENCES",  # 5256
    "UTF8=ACCEPT",  # 6855
)
# What ENABLE can turn on (RFC 5161); QRESYNC implies CONDSTORE (RFC 7162 3.2.3).
ENABLEABLE = ("CONDSTORE", "QRESYNC", "UTF8=ACCEPT")


@dataclass(frozen=True)
class Reply:
    status: Literal["OK", "NO", "BAD"]
    text: str

    def line(self, tag: str) -> bytes:
        return f"{tag} {self.status} {self.text}\r\n".encode()


def ok(text: str = "Completed") -> Reply:
    return Reply("OK", text)


def no(text: str) -> Reply:
    return Reply("NO", text)


def bad(text: str) -> Reply:
    return Reply("BAD", text)


@dataclass
class Session:
    ctx: ServerContext
    session_id: str
    secure: bool
    loopback: bool
    on_change: Callable[[], None]
    state: ConnectionState = field(default_factory=ConnectionState)
    user: MailUser | None = None
    store: MailStore | None = None
    view: SelectedView | None = None
    utf8: bool = False
    enabled: set[str] = field(default_factory=set)  # CONDSTORE, QRESYNC, UTF8=ACCEPT
    compressed: bool = False  # COMPRESS DEFLATE is active
    tag: str = ""  # of the running command (ESEARCH names it)
    # Responses of the running command, written in one batch; large literals stream.
    out: list[bytes | StreamedLiteral] = field(default_factory=list)

    @property
    def plaintext_allowed(self) -> bool:
        return self.secure or self.loopback or not self.ctx.config.auth.disable_plaintext_auth

    def capabilities(self) -> str:
        caps = list(EXTENSIONS)
        if self.state.state is State.NOT_AUTHENTICATED:
            if not self.secure:
                caps.append("STARTTLS")
            if self.plaintext_allowed:
                caps.extend(("AUTH=PLAIN", "AUTH=LOGIN"))
            else:
                caps.append("LOGINDISABLED")
        return " ".join(caps)

    @property
    def condstore(self) -> bool:
        return bool(self.enabled & {"CONDSTORE", "QRESYNC"})

    @property
    def qresync(self) -> bool:
        return "QRESYNC" in self.enabled

    def enable_condstore(self) -> None:
        """A CONDSTORE-enabling command ran (RFC 7162 3.1: FETCH MODSEQ, SEARCH MODSEQ,
        STORE UNCHANGEDSINCE, SELECT (CONDSTORE), STATUS HIGHESTMODSEQ...)."""
        self.enabled.add("CONDSTORE")
        if self.view is not None:
            self.view.condstore = True

    def mailbox(self, raw: bytes) -> str:
        return response.decode_mailbox(raw, self.utf8)

    def encode_mailbox(self, name: str) -> bytes:
        return response.encode_mailbox(name, self.utf8)

    def need_store(self) -> MailStore:
        assert self.store is not None, "command table lets this run only once logged in"
        return self.store

    def need_view(self) -> SelectedView:
        assert self.view is not None, "command table lets this run only when selected"
        return self.view

    def unselect(self) -> None:
        if self.view is not None:
            self.view.close()
            self.view = None
