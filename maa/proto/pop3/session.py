"""The sans-I/O POP3 server: bytes in, actions out.

``Pop3Session`` splits the input into lines, parses each into a command, checks it against
the state and answers everything it can from its ``MaildropView``. What needs the outside
world (checking a password, reading a message, expunging, starting TLS) comes out as an
action from ``maa.proto.pop3.events``; the glue reports back and the core carries on with
the next pipelined command.
"""

from __future__ import annotations

from dataclasses import dataclass

from maa.auth.sasl import (
    SASL_MECHANISMS,
    Challenge,
    Credentials,
    SaslCancelled,
    SaslError,
    SaslServer,
)
from maa.proto.pop3 import commands as c
from maa.proto.pop3 import replies as r
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
from maa.proto.pop3.limits import (
    MAX_AUTH_LINE,
    MAX_BAD_COMMANDS,
    MAX_COMMAND_LINE,
    MAX_PIPELINED_INPUT,
)
from maa.proto.pop3.maildrop import MaildropView, NoSuchMessage
from maa.proto.pop3.states import State, Transition, next_state

IMPLEMENTATION = "maa"


class _Refused(Exception):
    """A command answered with ``-ERR``; ``str(self)`` is the text."""


@dataclass
class SessionStats:
    """The figures of Dovecot's pop3_logout_format (%t %p %r %b %d %m %s)."""

    top_count: int = 0
    top_bytes: int = 0
    retr_count: int = 0
    retr_bytes: int = 0
    deleted: int = 0
    messages: int = 0  # in the maildrop at login
    size: int = 0  # octets in the maildrop at login


@dataclass
class _Pending:
    """The command whose action the glue is carrying out."""

    command: c.Command
    uid: int = 0


class Pop3Session:
    def __init__(
        self,
        *,
        secure: bool,
        tls_available: bool,
        plaintext_allowed: bool,
    ) -> None:
        """``secure``: TLS is active (implicit TLS). ``tls_available``: STLS can be offered.
        ``plaintext_allowed``: passwords may be sent on this connection without TLS (the
        peer is on loopback or ``disable_plaintext_auth`` is off)."""
        self.state = State.AUTHORIZATION
        self.secure = secure
        self._tls_available = tls_available
        self._plaintext_allowed = plaintext_allowed
        self._buffer = bytearray()
        self._discarding = False  # skipping the rest of an over-long line
        self._out: list[Action] = []
        self._unwritten = bytearray()  # replies not yet turned into a Write action
        self._pending: _Pending | None = None
        self._user: str | None = None
        self._sasl: SaslServer | None = None
        self._bad_commands = 0
        self._retrieved: dict[int, None] = {}  # UIDs sent whole by RETR, in order
        self.maildrop: MaildropView | None = None
        self.stats = SessionStats()

    # -- what the glue calls -------------------------------------------------------------

    def greeting(self) -> list[Action]:
        self._write(r.ok(r.GREETING))
        return self._flush()

    def receive_data(self, data: bytes) -> list[Action]:
        if self.state is State.CLOSED:
            return []
        self._buffer += data
        return self._run()

    @property
    def busy(self) -> bool:
        """An action is being carried out; input is only buffered meanwhile."""
        return self._pending is not None

    @property
    def input_backlog(self) -> bool:
        """Too much pipelined input is waiting: the glue should stop reading for now."""
        return len(self._buffer) > MAX_PIPELINED_INPUT

    @property
    def closed(self) -> bool:
        return self.state is State.CLOSED

    def login_succeeded(self, maildrop: MaildropView) -> list[Action]:
        """The password was right and the maildrop is locked and read. If the session was
        closed meanwhile (idle timeout), nothing happens: the glue must let the maildrop go
        when ``closed`` is true."""
        self._finish_pending(c.User, c.Pass, c.Auth)
        if self.closed:
            return []
        self.maildrop = maildrop
        self.stats.messages = maildrop.initial_count
        self.stats.size = maildrop.initial_size
        self.state = next_state(self.state, Transition.LOGGED_IN)
        self._write(r.ok(r.LOGGED_IN))
        return self._run()

    def login_failed(self, reason: LoginFailure) -> list[Action]:
        self._finish_pending(c.User, c.Pass, c.Auth)
        if self.closed:
            return []
        text = {
            LoginFailure.BAD_CREDENTIALS: r.AUTH_FAILED,
            LoginFailure.MAILDROP_LOCKED: r.MAILBOX_LOCKED,
            LoginFailure.MAILDROP_UNAVAILABLE: r.MAILDROP_UNAVAILABLE,
        }[reason]
        self._write(r.err(text))
        return self._run()

    def send_finished(self, octets: int) -> list[Action]:
        """The message (and its terminating dot line) has been written."""
        pending = self._finish_pending(c.Retr, c.Top)
        if self.closed:
            return []
        if isinstance(pending.command, c.Retr):
            self.stats.retr_count += 1
            self.stats.retr_bytes += octets
            self._retrieved[pending.uid] = None
        else:
            self.stats.top_count += 1
            self.stats.top_bytes += octets
        return self._run()

    def send_failed(self, *, gone: bool) -> list[Action]:
        """The message could not be opened: expunged by another session (``gone``) or a
        storage failure. Nothing was written for it yet."""
        self._finish_pending(c.Retr, c.Top)
        if self.closed:
            return []
        self._write(r.err(r.MESSAGE_GONE if gone else r.READ_FAILED))
        return self._run()

    def update_finished(self, ok: bool) -> list[Action]:
        self._finish_pending(c.Quit)
        self._retrieved.clear()  # their \Seen flags went with the update
        if self.closed:
            return []
        self.state = next_state(self.state, Transition.UPDATED)
        if not ok:
            self._write(r.err(r.NOT_ALL_DELETED))
        elif self.stats.deleted:
            self._write(r.ok(r.LOGGING_OUT_DELETED))
        else:
            self._write(r.ok(r.LOGGING_OUT))
        self._emit(Close())
        return self._flush()

    def timed_out(self) -> list[Action]:
        if self.closed:
            return []
        pending = self._pending
        # Mid-message, a reply line would read as part of the message: just close.
        if pending is None or not isinstance(pending.command, c.Retr | c.Top):
            self._write(r.err(r.IDLE_TIMEOUT))
        self._close()
        return self._flush()

    def connection_lost(self) -> tuple[int, ...]:
        """The peer went away: nothing is deleted (RFC 1939 6). Returns the UIDs retrieved
        whose \\Seen flag is still to be set, as Dovecot does on a dropped connection."""
        self.state = next_state(self.state, Transition.CLOSE)
        seen = tuple(self._retrieved)
        self._retrieved.clear()
        return seen

    # -- the loop --------------------------------------------------------------------------

    def _run(self) -> list[Action]:
        while self._pending is None and self.state in (State.AUTHORIZATION, State.TRANSACTION):
            line = self._next_line()
            if line is None:
                break
            try:
                if self._sasl is not None:
                    self._sasl_step(line)
                else:
                    self._command(line)
            except _Refused as e:
                self._refuse(str(e))
        return self._flush()

    def _next_line(self) -> str | None:
        while True:
            end = self._buffer.find(b"\n")
            limit = self._line_limit()
            if end < 0:
                if self._discarding:
                    self._buffer.clear()
                elif len(self._buffer) > limit:
                    self._line_too_long()
                    self._buffer.clear()
                    self._discarding = True
                return None
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if self._discarding:
                self._discarding = False
                continue
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if len(raw) + 2 > limit:
                self._line_too_long()
                if self.state is State.CLOSED:
                    return None
                continue
            return raw.decode("utf-8", "surrogateescape")

    def _line_limit(self) -> int:
        if self._sasl is not None or self._buffer[:5].upper() == b"AUTH ":
            return MAX_AUTH_LINE
        return MAX_COMMAND_LINE

    def _line_too_long(self) -> None:
        if self._sasl is not None:
            self._sasl = None
        self._refuse(r.LINE_TOO_LONG)

    def _refuse(self, text: str) -> None:
        self._write(r.err(text))
        self._bad_commands += 1
        if self._bad_commands >= MAX_BAD_COMMANDS:
            self._write(r.err(r.TOO_MANY_BAD))
            self._close()

    def _close(self) -> None:
        self.state = next_state(self.state, Transition.CLOSE)
        self._buffer.clear()
        self._emit(Close())

    def _write(self, data: bytes) -> None:
        # Replies to pipelined commands collect into one Write (one transport write).
        self._unwritten += data

    def _emit(self, action: Action) -> None:
        if self._unwritten:
            self._out.append(Write(bytes(self._unwritten)))
            self._unwritten.clear()
        self._out.append(action)

    def _flush(self) -> list[Action]:
        if self._unwritten:
            self._out.append(Write(bytes(self._unwritten)))
            self._unwritten.clear()
        out, self._out = self._out, []
        return out

    def _wait(self, command: c.Command, action: Action, uid: int = 0) -> None:
        self._pending = _Pending(command, uid)
        self._emit(action)

    def _finish_pending(self, *kinds: type) -> _Pending:
        pending = self._pending
        if pending is None or not isinstance(pending.command, kinds):
            raise RuntimeError(f"nothing of {kinds} is pending")
        self._pending = None
        return pending

    # -- commands --------------------------------------------------------------------------

    def _command(self, line: str) -> None:
        try:
            command = c.parse_command(line, self.state)
        except c.CommandError as e:
            raise _Refused(str(e)) from None
        match command:
            case c.Capa():
                self._write(r.multiline(r.CAPABILITY_LIST, self._capabilities()))
            case c.Noop():
                self._write(r.ok())
            case c.Quit():
                self._quit(command)
            case c.User(name=name):
                self._check_plaintext()
                self._user = name
                self._write(r.ok())
            case c.Pass(password=password):
                self._check_plaintext()
                user, self._user = self._user, None
                if user is None:
                    raise _Refused(r.NO_USER)
                self._wait(command, Authenticate(user, password, "PLAIN"))
            case c.Auth():
                self._auth(command)
            case c.Stls():
                self._stls()
            case _:
                self._transaction(command)

    def _capabilities(self) -> list[str]:
        caps = ["CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"]
        if self.state is State.AUTHORIZATION:
            if self._tls_available and not self.secure:
                caps.append("STLS")
            if self._may_send_password():
                caps.append("USER")
                caps.append("SASL " + " ".join(SASL_MECHANISMS))
        caps.append(f"IMPLEMENTATION {IMPLEMENTATION}")
        return caps

    def _may_send_password(self) -> bool:
        return self.secure or self._plaintext_allowed

    def _check_plaintext(self) -> None:
        if not self._may_send_password():
            self._user = None
            raise _Refused(r.PLAINTEXT_DISALLOWED)

    def _quit(self, command: c.Command) -> None:
        if self.state is State.AUTHORIZATION:
            self.state = next_state(self.state, Transition.QUIT)
            self._write(r.ok(r.LOGGING_OUT))
            self._emit(Close())
            return
        assert self.maildrop is not None
        self.state = next_state(self.state, Transition.QUIT)
        expunge = self.maildrop.deleted_uids()
        self.stats.deleted = len(expunge)
        gone = set(expunge)
        seen = tuple(uid for uid in self._retrieved if uid not in gone)
        self._wait(command, Update(tuple(expunge), seen))

    def _stls(self) -> None:
        if self.secure:
            raise _Refused(r.TLS_ACTIVE)
        if not self._tls_available:
            raise _Refused(r.TLS_UNAVAILABLE)
        self._write(r.ok(r.BEGIN_TLS))
        self._emit(StartTLS())
        # RFC 2595 / CVE-2011-0411 (command injection): anything the client pipelined after
        # STLS arrived in plaintext and must not be read as if it came over TLS.
        self._buffer.clear()
        self._discarding = False
        self._user = None
        self.secure = True

    # -- SASL ------------------------------------------------------------------------------

    def _auth(self, command: c.Auth) -> None:
        self._user = None
        if command.mechanism is None:
            mechanisms = SASL_MECHANISMS if self._may_send_password() else ()
            self._write(r.multiline("", mechanisms))
            return
        if command.mechanism not in SASL_MECHANISMS:
            raise _Refused(r.UNSUPPORTED_MECHANISM)
        self._check_plaintext()  # both PLAIN and LOGIN carry the password in the clear
        try:
            exchange, result = SaslServer.start(command.mechanism, command.initial_response)
        except SaslError as e:
            raise _Refused(f"{r.AUTH} {e}.") from None
        self._sasl_result(command, exchange, result)

    def _sasl_step(self, line: str) -> None:
        exchange = self._sasl
        assert exchange is not None
        self._sasl = None
        try:
            result = exchange.step(line)
        except SaslCancelled:
            raise _Refused(r.AUTH_ABORTED) from None
        except SaslError as e:
            raise _Refused(f"{r.AUTH} {e}.") from None
        self._sasl_result(c.Auth(exchange.mechanism, None), exchange, result)

    def _sasl_result(
        self, command: c.Auth, exchange: SaslServer, result: Challenge | Credentials
    ) -> None:
        if isinstance(result, Challenge):
            self._sasl = exchange
            self._write(r.continuation(result.b64))
            return
        if result.authzid and result.authzid != result.authcid:
            raise _Refused(r.AUTHZID_REFUSED)
        self._wait(command, Authenticate(result.authcid, result.password, exchange.mechanism))

    # -- TRANSACTION -----------------------------------------------------------------------

    def _transaction(self, command: c.Command) -> None:
        maildrop = self.maildrop
        assert maildrop is not None
        try:
            match command:
                case c.Stat():
                    count, size = maildrop.stat()
                    self._write(r.ok(f"{count} {size}"))
                case c.List(number=None):
                    entries = list(maildrop.live())
                    lines = (f"{n} {e.size}" for n, e in entries)
                    self._write(r.multiline(f"{len(entries)} messages:", lines))
                case c.List(number=int(number)):
                    self._write(r.ok(f"{number} {maildrop.entry(number).size}"))
                case c.Uidl(number=None):
                    uidls = (f"{n} {maildrop.uidl(n)}" for n, _ in maildrop.live())
                    self._write(r.multiline("", uidls))
                case c.Uidl(number=int(number)):
                    self._write(r.ok(f"{number} {maildrop.uidl(number)}"))
                case c.Retr(number=number):
                    entry = maildrop.entry(number)
                    header = r.ok(f"{entry.size} octets")
                    self._wait(command, SendMessage(entry.uid, header, None), entry.uid)
                case c.Top(number=number, lines=lines):
                    entry = maildrop.entry(number)
                    self._wait(command, SendMessage(entry.uid, r.ok(), lines), entry.uid)
                case c.Dele(number=number):
                    maildrop.delete(number)
                    self._write(r.ok(r.MARKED))
                case c.Rset():
                    maildrop.reset()
                    count, size = maildrop.stat()
                    self._write(r.ok(f"maildrop has {count} messages ({size} octets)"))
                case _:
                    raise AssertionError(command)
        except NoSuchMessage as e:
            raise _Refused(str(e)) from None
