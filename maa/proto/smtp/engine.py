"""The sans-I/O SMTP/LMTP server engine: bytes in, events out, reply bytes to send.

Usage by a glue (Twisted protocol or anything else)::

    engine = SmtpEngine(Settings(Dialect.LMTP, hostname="mx.example", max_message_size=...))
    transport.write(engine.data_to_send())           # the 220 greeting

    def on_bytes(data):
        engine.receive_data(data)
        while (event := engine.next_event()) is not None:
            handle(event)                            # may call engine.answer(...) at once
        transport.write(engine.data_to_send())
        if engine.closed: transport.loseConnection()

When an event needs a decision (``MailFrom``, ``RcptTo``, ``MessageEnd``,
``AuthCredentials``) the engine reads no further command until it is answered, so pipelined
commands (RFC 2920) are answered strictly in order even when a decision comes later from a
Deferred: call ``answer``/``answer_recipient`` then run the event loop again. While it
waits, input is buffered; ``should_pause_reading`` says when the glue should stop reading.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from maa.auth import sasl
from maa.proto.smtp import commands as c
from maa.proto.smtp import events as ev
from maa.proto.smtp import params as p
from maa.proto.smtp import replies as r
from maa.proto.smtp.data import ChunkReader, DotDecoder
from maa.proto.smtp.states import ALLOWED, State, Trigger, next_state, out_of_sequence

# RFC 5321 4.5.3.1.4 allows 512 octets per command line, but extensions (AUTH initial
# responses, DSN ORCPT, SMTPUTF8 addresses) make longer ones legitimate; 4 KiB holds them.
MAX_COMMAND_LINE = 4096
# RFC 5321 4.5.3.1.8 asks for at least 100; Postfix allows 1000 per message.
MAX_RECIPIENTS = 1000
# Protocol errors (unknown commands, bad syntax, bad sequence) before 421 and a hang-up,
# like Postfix's smtpd_hard_error_limit.
MAX_ERRORS = 20
# Input held while a decision is pending, before the glue should stop reading: room for a
# whole pipelined batch of MAX_RECIPIENTS RCPT lines.
MAX_BUFFERED_INPUT = 1024 * 1024


class Dialect(Enum):
    SMTP = "SMTP"
    LMTP = "LMTP"


_COMMON_VERBS = frozenset({"MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT", "VRFY", "HELP"})
VERBS: dict[Dialect, frozenset[str]] = {
    # Dovecot's LMTP does not know EHLO/HELO either: "500 5.5.1 Unknown command".
    Dialect.LMTP: _COMMON_VERBS | {"LHLO"},
    Dialect.SMTP: _COMMON_VERBS | {"EHLO", "HELO", "STARTTLS", "AUTH"},
}


@dataclass(frozen=True)
class Settings:
    dialect: Dialect
    hostname: str
    max_message_size: int
    max_recipients: int = MAX_RECIPIENTS
    max_command_line: int = MAX_COMMAND_LINE
    # SMTP only. ``starttls``: a TLS context exists, so STARTTLS can be offered while TLS is
    # not active yet. ``auth``: AUTH is offered at all; ``plaintext_auth``: even without TLS
    # (peer on loopback, or ``[auth] disable_plaintext_auth = false``).
    starttls: bool = False
    tls_active: bool = False
    auth: bool = False
    plaintext_auth: bool = False


class SmtpEngine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dialect = settings.dialect
        self.state = State.CONNECTED
        self.tls_active = settings.tls_active
        self.authenticated = False
        self.hello: c.Hello | None = None
        self.mail: c.Mail | None = None
        self.recipients: list[ev.RcptTo] = []
        self.errors = 0
        self._in = bytearray()
        self._out: list[bytes] = []
        self._events: deque[ev.Event] = deque()
        self._pending: ev.Event | None = None
        self._lmtp_replies: list[r.Reply | None] = []
        self._lmtp_sent = 0
        self._awaiting_tls = False
        self._discarding_line = False
        self._decoder: DotDecoder | None = None
        self._chunk: ChunkReader | None = None
        self._chunk_last = False
        self._chunk_skip_reply: r.Reply | None = None  # set when a BDAT chunk is read to waste
        self._size = 0
        self._too_big = False
        self._sasl: sasl.SaslServer | None = None
        kind = "LMTP" if self.dialect is Dialect.LMTP else "ESMTP"
        self._send(r.Reply(220, "", f"{settings.hostname} {kind} maa ready"))

    # -- the glue's side ------------------------------------------------------------------

    @property
    def pending(self) -> ev.Event | None:
        """The decision event waiting for an answer, if any."""
        return self._pending

    @property
    def closed(self) -> bool:
        return self.state is State.CLOSED

    @property
    def should_pause_reading(self) -> bool:
        return len(self._in) > MAX_BUFFERED_INPUT

    @property
    def auth_allowed(self) -> bool:
        s = self.settings
        return self.dialect is Dialect.SMTP and s.auth and (self.tls_active or s.plaintext_auth)

    def receive_data(self, data: bytes) -> None:
        if self.state is not State.CLOSED:
            self._in += data

    def data_to_send(self) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        return out

    def next_event(self) -> ev.Event | None:
        """The next event, or None when more input (or an answer, or TLS) is needed."""
        while not self._events:
            if self._pending is not None or self._awaiting_tls or self.closed:
                return None
            if not self._step():
                return None
        return self._events.popleft()

    def answer(self, reply: r.Reply) -> None:
        """Answer the pending decision (for an LMTP ``MessageEnd``: the same reply for every
        recipient)."""
        pending = self._pending
        if isinstance(pending, ev.MessageEnd) and self.dialect is Dialect.LMTP:
            for i, slot in enumerate(self._lmtp_replies):
                if slot is None:
                    self.answer_recipient(i, reply)
            return
        if pending is None:
            raise RuntimeError("no decision is pending")
        self._pending = None
        if isinstance(pending, ev.MailFrom):
            if reply.ok:
                self.state = next_state(self.state, Trigger.MAIL_OK)
                self.mail = c.Mail(pending.address, pending.params)
        elif isinstance(pending, ev.RcptTo):
            if reply.ok:
                self.state = next_state(self.state, Trigger.RCPT_OK)
                self.recipients.append(pending)
        elif isinstance(pending, ev.MessageEnd):
            self._end_transaction()
        elif isinstance(pending, ev.AuthCredentials):
            self.authenticated = reply.ok
            self._sasl = None
            self.state = next_state(self.state, Trigger.AUTH_DONE)
        self._send(reply)

    def answer_recipient(self, index: int, reply: r.Reply) -> None:
        """LMTP: the delivery result for ``MessageEnd.recipients[index]``."""
        if not isinstance(self._pending, ev.MessageEnd) or self.dialect is not Dialect.LMTP:
            raise RuntimeError("no LMTP end of data is pending")
        if self._lmtp_replies[index] is not None:
            raise RuntimeError(f"recipient {index} already answered")
        self._lmtp_replies[index] = reply
        while self._lmtp_sent < len(self._lmtp_replies):
            ready = self._lmtp_replies[self._lmtp_sent]
            if ready is None:
                return
            self._send(ready)
            self._lmtp_sent += 1
        self._pending = None
        self._end_transaction()

    def tls_started(self) -> None:
        """TLS is now on; RFC 3207 4.2: forget everything learnt before it."""
        self._awaiting_tls = False
        self.tls_active = True
        self._in.clear()
        self.hello = None
        self.state = next_state(self.state, Trigger.TLS)

    # -- internals ------------------------------------------------------------------------

    def _send(self, reply: r.Reply) -> None:
        self._out.append(reply.to_bytes())

    def _error(self, reply: r.Reply) -> None:
        self._send(reply)
        self.errors += 1
        if self.errors >= MAX_ERRORS and not self.closed:
            self._close(r.S421_TOO_MANY_ERRORS, "too many errors")

    def _close(self, reply: r.Reply, reason: str) -> None:
        self._send(reply)
        self.state = next_state(self.state, Trigger.CLOSE)
        self._in.clear()
        self._events.append(ev.Closing(reason))

    def _reset(self, reason: str, trigger: Trigger = Trigger.RESET, announce: bool = True) -> None:
        if not announce:
            pass
        elif self.mail is not None or self.state in (State.DATA, State.BDAT, State.BDAT_MORE):
            self._events.append(ev.TransactionReset(reason))
        self.mail = None
        self.recipients = []
        self._decoder = None
        self._size = 0
        self._too_big = False
        self.state = next_state(self.state, trigger)

    def _end_transaction(self) -> None:
        self.mail = None
        self.recipients = []
        self._lmtp_replies = []
        self._lmtp_sent = 0
        self._size = 0
        self._too_big = False
        self.state = next_state(self.state, Trigger.MESSAGE_DONE)

    def _step(self) -> bool:
        """Consume some input; False when nothing can be done without more."""
        if self._chunk is not None:
            return self._read_chunk()
        if self.state is State.DATA:
            return self._read_data()
        nl = self._in.find(b"\n")
        if nl < 0:
            if len(self._in) > self.settings.max_command_line:
                self._in.clear()
                if not self._discarding_line:
                    self._discarding_line = True
                    self._error(r.S500_LINE_TOO_LONG)
                return True
            return False
        raw = bytes(self._in[:nl])
        del self._in[: nl + 1]
        if self._discarding_line:
            self._discarding_line = False
            return True
        if len(raw) > self.settings.max_command_line:
            self._error(r.S500_LINE_TOO_LONG)
            return True
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            self._error(r.S500_BAD_UTF8)
            return True
        if self.state is State.AUTH:
            self._sasl_line(line)
        else:
            self._command(line)
        return True

    # -- content ---------------------------------------------------------------------------

    def _content(self, piece: bytes) -> None:
        if self._too_big or not piece:
            return
        self._size += len(piece)
        if self._size > self.settings.max_message_size:
            self._too_big = True
            self._events.append(ev.TransactionReset("message size limit exceeded"))
        else:
            self._events.append(ev.MessageChunk(piece))

    def _read_data(self) -> bool:
        if not self._in:
            return False
        assert self._decoder is not None
        pieces, rest = self._decoder.feed(bytes(self._in))
        self._in.clear()
        for piece in pieces:
            self._content(piece)
        if rest is None:
            return bool(self._events)
        self._in += rest
        self._decoder = None
        self._message_complete()
        return True

    def _read_chunk(self) -> bool:
        assert self._chunk is not None
        if self._chunk.remaining and not self._in:
            return False
        piece, rest = self._chunk.feed(bytes(self._in))
        self._in.clear()
        if self._chunk_skip_reply is None:
            self._content(piece)
        if rest is None:
            return bool(self._events)
        self._in += rest
        self._chunk = None
        if self._chunk_skip_reply is not None:
            reply, self._chunk_skip_reply = self._chunk_skip_reply, None
            self._error(reply)
        elif self._chunk_last:
            self._message_complete()
        elif self._too_big:
            self._send(r.S552_TOO_BIG)
            self._reset("message size limit exceeded", announce=False)
        else:
            self._send(r.Reply(250, "2.0.0", f"{self._size} octets received"))
            self.state = next_state(self.state, Trigger.CHUNK_DONE)
        return True

    def _message_complete(self) -> None:
        if self._too_big:
            # RFC 2033 4.2: after the end of data an LMTP client reads one reply per accepted
            # recipient, whatever the outcome; a single 552 would leave it waiting.
            lmtp = self.dialect is Dialect.LMTP
            for _ in range(len(self.recipients) if lmtp else 1):
                self._send(r.S552_TOO_BIG)
            self._end_transaction()
            return
        assert self.mail is not None
        end = ev.MessageEnd(self.mail.address, tuple(self.recipients))
        self._lmtp_replies = [None] * len(self.recipients)
        self._lmtp_sent = 0
        self._pending = end
        self._events.append(end)

    # -- commands --------------------------------------------------------------------------

    def _command(self, line: str) -> None:
        verb, _ = c.split_verb(line)
        if verb not in VERBS[self.dialect]:
            self._error(r.S500_UNKNOWN)
            return
        try:
            command = c.parse_command(line)
        except c.CommandError as e:
            self._error(e.reply)
            return
        if self.state not in ALLOWED[verb]:
            reply = out_of_sequence(verb, self.state, self.dialect is Dialect.LMTP)
            if isinstance(command, c.Bdat):
                # RFC 3030 3: the chunk's octets follow whatever the reply; read and drop
                # them so they are never taken for commands.
                self._chunk = ChunkReader(command.size)
                self._chunk_skip_reply = reply
            else:
                self._error(reply)
            return
        handler = _HANDLERS[type(command)]
        handler(self, command)

    def _hello(self, cmd: c.Hello) -> None:
        self._reset("new greeting", Trigger.HELLO)
        self.hello = cmd
        self._events.append(ev.Hello(cmd.verb, cmd.domain))
        if cmd.verb == "HELO":
            self._send(r.Reply(250, "", self.settings.hostname))
        else:
            self._send(r.Reply(250, "", (self.settings.hostname, *self.extensions())))

    def extensions(self) -> list[str]:
        exts = [
            "PIPELINING",
            f"SIZE {self.settings.max_message_size}",
            "ENHANCEDSTATUSCODES",
            "8BITMIME",
            "CHUNKING",
        ]
        if self.dialect is Dialect.SMTP:
            exts += ["SMTPUTF8", "DSN"]
            if self.settings.starttls and not self.tls_active:
                exts.append("STARTTLS")
            if self.auth_allowed and not self.authenticated:
                exts.append("AUTH " + " ".join(sasl.SASL_MECHANISMS))
        return exts

    def _mail(self, cmd: c.Mail) -> None:
        allowed = p.MAIL_PARAMS[self.dialect.value] if self.hello_is_esmtp else frozenset()
        try:
            params = p.check_mail(
                cmd.address,
                cmd.params,
                allowed,
                self.settings.max_message_size,
                p.BODY_TYPES_OF[self.dialect.value],
            )
        except p.ParamRefused as e:
            self._refuse(e)
            return
        self._decide(ev.MailFrom(cmd.address, params))

    def _refuse(self, refused: p.ParamRefused) -> None:
        if refused.protocol_error:
            self._error(refused.reply)
        else:
            self._send(refused.reply)

    @property
    def hello_is_esmtp(self) -> bool:
        return self.hello is not None and self.hello.verb != "HELO"

    def _rcpt(self, cmd: c.Rcpt) -> None:
        assert self.mail is not None
        allowed = p.RCPT_PARAMS[self.dialect.value] if self.hello_is_esmtp else frozenset()
        try:
            smtputf8 = "SMTPUTF8" in self.mail.params
            params = p.check_rcpt(cmd.address, cmd.params, allowed, smtputf8)
        except p.ParamRefused as e:
            self._refuse(e)
            return
        if len(self.recipients) >= self.settings.max_recipients:
            self._send(r.S452_TOO_MANY_RCPTS)
            return
        self._decide(ev.RcptTo(cmd.address, params))

    def _decide(self, event: ev.Event) -> None:
        self._pending = event
        self._events.append(event)

    def _data(self, cmd: c.Data) -> None:
        self.state = next_state(self.state, Trigger.DATA)
        self._decoder = DotDecoder()
        self._size = 0
        self._send(r.S354_DATA)
        self._events.append(ev.MessageStart("DATA"))

    def _bdat(self, cmd: c.Bdat) -> None:
        if self.state is State.RCPT:
            self._size = 0
            self._events.append(ev.MessageStart("BDAT"))
        self.state = next_state(self.state, Trigger.BDAT)
        self._chunk = ChunkReader(cmd.size)
        self._chunk_last = cmd.last

    def _rset(self, cmd: c.Rset) -> None:
        self._reset("RSET")
        self._send(r.S250_RESET)

    def _noop(self, cmd: c.Noop) -> None:
        self._send(r.S250_OK)

    def _quit(self, cmd: c.Quit) -> None:
        self._close(r.Reply(221, "2.0.0", f"{self.settings.hostname} Bye"), "QUIT")

    def _vrfy(self, cmd: c.Vrfy) -> None:
        if not cmd.argument:
            self._error(r.Reply(501, "5.5.4", "Syntax: VRFY address"))
        else:
            self._send(r.S252_VRFY)

    def _help(self, cmd: c.Help) -> None:
        verbs = " ".join(v for v in c.VERBS if v in VERBS[self.dialect])
        self._send(r.Reply(214, "2.0.0", f"Commands: {verbs}"))

    def _starttls(self, cmd: c.StartTls) -> None:
        if self.tls_active:
            self._error(r.Reply(503, "5.5.1", "Error: TLS already active"))
            return
        if not self.settings.starttls:
            self._error(r.S502_NOT_IMPLEMENTED)
            return
        self._send(r.S220_TLS_GO)
        # Bytes pipelined after STARTTLS came in plaintext and could have been injected by a
        # man in the middle (CVE-2011-0411): they are dropped, never run after the handshake.
        self._in.clear()
        self._awaiting_tls = True
        self._events.append(ev.StartTlsRequested())

    def _auth(self, cmd: c.Auth) -> None:
        if not self.settings.auth:
            self._error(r.S503_AUTH_DISABLED)
            return
        if self.authenticated:
            self._error(r.S503_ALREADY_AUTH)
            return
        if not self.auth_allowed:
            self._error(r.S538_ENCRYPTION)
            return
        if cmd.mechanism not in sasl.SASL_MECHANISMS:
            self._error(r.S504_AUTH_MECH)
            return
        self.state = next_state(self.state, Trigger.AUTH)
        try:
            self._sasl, result = sasl.SaslServer.start(cmd.mechanism, cmd.initial_response)
        except sasl.SaslError as e:
            self._sasl_failed(e)
            return
        self._sasl_result(result)

    def _sasl_line(self, line: str) -> None:
        assert self._sasl is not None
        try:
            result = self._sasl.step(line)
        except sasl.SaslError as e:
            self._sasl_failed(e)
            return
        self._sasl_result(result)

    def _sasl_result(self, result: sasl.Challenge | sasl.Credentials) -> None:
        if isinstance(result, sasl.Challenge):
            self._send(r.Reply(334, "", result.b64))
            return
        assert self._sasl is not None
        self._decide(
            ev.AuthCredentials(
                self._sasl.mechanism, result.authzid, result.authcid, result.password
            )
        )

    def _sasl_failed(self, error: sasl.SaslError) -> None:
        self._sasl = None
        self.state = next_state(self.state, Trigger.AUTH_DONE)
        cancelled = isinstance(error, sasl.SaslCancelled)
        self._error(r.S501_AUTH_CANCELLED if cancelled else r.S501_AUTH_SYNTAX)


_HANDLERS: dict[type, Callable[[SmtpEngine, Any], None]] = {
    c.Hello: SmtpEngine._hello,
    c.Mail: SmtpEngine._mail,
    c.Rcpt: SmtpEngine._rcpt,
    c.Data: SmtpEngine._data,
    c.Bdat: SmtpEngine._bdat,
    c.Rset: SmtpEngine._rset,
    c.Noop: SmtpEngine._noop,
    c.Quit: SmtpEngine._quit,
    c.Vrfy: SmtpEngine._vrfy,
    c.Help: SmtpEngine._help,
    c.StartTls: SmtpEngine._starttls,
    c.Auth: SmtpEngine._auth,
}
