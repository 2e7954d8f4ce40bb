"""The Twisted protocol: feeds bytes to the sans-I/O framer, runs commands through the
command table and the executors, and writes each command's responses in one batch."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer, protocol, task
from twisted.python.failure import Failure

from maa import tls
from maa.auth import sasl
from maa.auth.model import IMailUser
from maa.context import ServerContext
from maa.imap.compression import DeflatingTransport
from maa.imap.errors import storage_reply
from maa.imap.handlers import HANDLERS
from maa.imap.session import Reply, Session, bad, no, ok
from maa.imap.streaming import LiteralProducer, StreamedLiteral
from maa.log import new_session_id, service_log
from maa.proto.imap import commands as c
from maa.proto.imap import limits
from maa.proto.imap.compress import CompressionError, Deflate
from maa.proto.imap.cursor import ParseError
from maa.proto.imap.framing import Framer, Line, NeedContinuation, RawCommand, Rejected
from maa.proto.imap.state import State, Transition
from maa.proto.imap.table import COMMANDS, CommandError, ParsedCommand, parse_command
from maa.storage.interface import StorageError

log = service_log("imap")

# How often an IDLE session looks for changes made by other processes (Maildir deliveries
# by another MDA): an idling client hears of a new message within a second.
IDLE_POLL_INTERVAL = 1.0
# Consecutive unparsable commands before the connection is closed (Dovecot closes after 20):
# a client this confused is not going to recover, and it may be probing.
MAX_BAD_COMMANDS = 20


class IMAPServerProtocol(protocol.Protocol):
    def __init__(self, ctx: ServerContext, implicit_tls: bool) -> None:
        self.ctx = ctx
        self.implicit_tls = implicit_tls
        self.framer = Framer(max_append=ctx.config.mail.max_message_size)
        self.session: Session
        self._busy = False  # a command is running (a Deferred) or its responses are streaming
        self._line_handler: Callable[[bytes], None] | None = None
        self._logout: Callable[[], None] | None = None
        self._autologout: Any = None
        self._idle_tag: str | None = None
        self._idle_poll: task.LoopingCall | None = None
        self._bad_in_a_row = 0
        self._synced = False  # this command's storage sync already ran (_sync_first)
        self._bytes_in = 0
        self._bytes_out = 0
        self._logged_out = False
        self._paused = False
        self._deflate: Deflate | None = None  # COMPRESS DEFLATE active (RFC 4978)
        self._deflating: DeflatingTransport | None = None
        self._own: dict[type, Callable[[str, Any], Reply | defer.Deferred[Reply] | None]] = {
            c.Logout: self._logout_command,
            c.StartTLS: self._starttls,
            c.Login: self._login,
            c.Authenticate: self._authenticate,
            c.Idle: self._idle,
            c.Compress: self._compress,
        }

    # -- connection ---------------------------------------------------------------------------

    def connectionMade(self) -> None:
        reactor = self.ctx.reactor
        self.session = Session(
            ctx=self.ctx,
            session_id=new_session_id(),
            secure=self.implicit_tls or tls.is_secure(self.transport),
            loopback=tls.is_loopback(self.transport),
            on_change=lambda: reactor.callFromThread(self._changed),
        )
        # A reply that follows another before the client has acknowledged it (APPEND's
        # tagged OK after its "+" continuation, each command of a pipelined burst) would
        # otherwise wait out the client's delayed ACK, 40 ms on Linux, under Nagle's
        # algorithm. Large responses go out in large writes anyway.
        no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if no_delay is not None:
            no_delay(True)
        self._reset_autologout()
        self._write(f"* OK [CAPABILITY {self.session.capabilities()}] maa ready.\r\n".encode())

    def dataReceived(self, data: bytes) -> None:
        self._bytes_in += len(data)
        self._reset_autologout()
        if self._deflate is not None:
            try:
                data = self._deflate.decompress(data)
            except CompressionError as e:
                self._compression_failed(e)
                return
        self.framer.feed(data)
        waiting = self.framer.buffered + (self._deflate.pending_size if self._deflate else 0)
        if self._busy and waiting > limits.MAX_PIPELINED and not self._paused:
            # A command is still running and the client keeps sending: stop reading until
            # we catch up, so pipelined input cannot grow without bound.
            self._paused = True
            self._transport.pauseProducing()
        self._process()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        # Twisted leaves this set; a login or APPEND finishing later must see it.
        self.connected = False
        if self._autologout is not None and self._autologout.active():
            self._autologout.cancel()
        self._stop_idle_poll()
        self.session.unselect()
        if not self._logged_out:
            who = f"user=<{self.session.user.login}>, " if self.session.user else ""
            log.info(
                self.session.session_id,
                f"Disconnected: Connection closed: {who}in={self._bytes_in} out={self._bytes_out}",
            )
        if self._logout is not None:
            self._logout()
            self._logout = None

    def _reset_autologout(self) -> None:
        if self._autologout is not None and self._autologout.active():
            self._autologout.reset(self.ctx.config.imap.autologout)
        else:
            self._autologout = self.ctx.reactor.callLater(
                self.ctx.config.imap.autologout, self._autologout_expired
            )

    def _autologout_expired(self) -> None:
        self._write(b"* BYE Autologout; idle for too long\r\n")
        self._transport.loseConnection()

    @property
    def _transport(self) -> Any:
        return self._deflating or self.transport

    def _write(self, data: bytes) -> None:
        self._bytes_out += len(data)
        self._transport.write(data)

    def _flush(self) -> defer.Deferred[None] | None:
        """Write the queued responses; a Deferred when a large literal is being streamed."""
        if not self.session.out:
            return None
        pieces = list(self.session.out)
        self.session.out.clear()
        return self._write_pieces(pieces)

    def _write_pieces(self, pieces: list[bytes | StreamedLiteral]) -> defer.Deferred[None] | None:
        batch: list[bytes] = []
        for index, piece in enumerate(pieces):
            if isinstance(piece, bytes):
                batch.append(piece)
                continue
            if batch:
                self._write(b"".join(batch))
            rest = pieces[index + 1 :]
            d = LiteralProducer(piece, self._transport, self._count_out).start()
            return d.addCallback(self._write_rest, rest)
        if batch:
            self._write(b"".join(batch))
        return None

    def _write_rest(
        self, _: object, rest: list[bytes | StreamedLiteral]
    ) -> defer.Deferred[None] | None:
        return self._write_pieces(rest)

    def _count_out(self, size: int) -> None:
        self._bytes_out += size

    # -- command loop -------------------------------------------------------------------------

    def _process(self) -> None:
        if self._paused and not self._busy:
            self._paused = False
            self._transport.resumeProducing()
        while not self._busy and self.session.state.state is not State.LOGOUT:
            event = self.framer.next_event()
            if event is None:
                if self._deflate is not None and self._deflate.has_pending:
                    # A bounded step of what the client deflated, now that the framer
                    # has taken everything before it.
                    try:
                        self.framer.feed(self._deflate.decompress())
                    except CompressionError as e:
                        self._compression_failed(e)
                        return
                    continue
                return
            if isinstance(event, Line):
                handler = self._line_handler
                if handler is not None:
                    handler(event.data)
                continue
            if isinstance(event, NeedContinuation):
                self._write(b"+ Ready for literal data\r\n")
            elif isinstance(event, Rejected):
                self._bad_command(event.tag, event.text)
                if event.fatal:
                    self._write(b"* BYE " + event.text.encode() + b"\r\n")
                    self._transport.loseConnection()
                    return
            elif isinstance(event, RawCommand):
                try:
                    parsed = parse_command(event)
                except CommandError as e:
                    if e.refused:
                        self._write(f"{e.tag} NO {e.text}\r\n".encode())
                    else:
                        self._bad_command(e.tag, e.text)
                    continue
                self._bad_in_a_row = 0
                self._run(parsed)

    def _bad_command(self, tag: str, text: str) -> None:
        self._bad_in_a_row += 1
        self._write(f"{tag} BAD Error in IMAP command: {text}\r\n".encode())
        if self._bad_in_a_row >= MAX_BAD_COMMANDS:
            self._write(b"* BYE Too many invalid IMAP commands.\r\n")
            self._transport.loseConnection()
            self.session.state.state = State.LOGOUT

    def _run(self, parsed: ParsedCommand) -> None:
        if self.session.state.state not in parsed.spec.states:
            reason = {
                State.NOT_AUTHENTICATED: "Not logged in",
                State.AUTHENTICATED: "No mailbox selected",
            }.get(self.session.state.state, "Command not allowed in this state")
            if parsed.name in ("LOGIN", "AUTHENTICATE"):
                reason = "Already logged in"
            self._finish(bad(reason), parsed)
            return
        own = self._own.get(type(parsed.command))
        self.session.tag = parsed.tag
        if parsed.spec.reads_messages:
            self._sync_first(parsed)
        try:
            if own is not None:
                result = own(parsed.tag, parsed.command)
            else:
                result = HANDLERS[type(parsed.command)](self.session, parsed.command)
        except Exception as e:
            result = self._error_reply(e)
        if result is None:  # the handler completes the command itself (IDLE, AUTHENTICATE)
            return
        if isinstance(result, defer.Deferred):
            self._busy = True
            result.addErrback(self._error_failure)
            result.addCallback(self._finish_async, parsed)
            return
        self._finish(result, parsed)

    def _error_failure(self, failure: Failure) -> Reply:
        return self._error_reply(failure.value or Exception(failure.getErrorMessage()))

    def _error_reply(self, error: BaseException) -> Reply:
        if isinstance(error, StorageError):
            return no(storage_reply(error)[1])
        if isinstance(error, ParseError):
            return bad(str(error))
        log.error(self.session.session_id, f"command failed: {error!r}")
        return no("[SERVERBUG] Internal error occurred. Refer to server log for more information.")

    def _finish_async(self, reply: Reply, parsed: ParsedCommand) -> None:
        self._busy = False
        if self.transport is None or not self.connected:
            return
        self._finish(reply, parsed)
        self._process()

    def _sync_first(self, parsed: ParsedCommand) -> None:
        """The command's one storage sync, before it runs: a FETCH, STORE or SEARCH
        answers from the flags and messages as they are now. New messages are told first;
        flag changes the command does not tell itself come after it (``untold``), and
        EXPUNGE when RFC 3501 7.4.1 lets it. Answering from the last command's
        state and correcting it after the answer told FLAGS one command stale."""
        view = self.session.view
        if view is None:
            return
        try:
            self.session.out.extend(
                view.sync(
                    allow_expunge=False, with_uid=parsed.name.startswith("UID "), hold_flags=True
                )
            )
        except StorageError as e:
            log.warning(self.session.session_id, f"sync failed: {e!r}")
        self._synced = True

    def _finish(self, reply: Reply, parsed: ParsedCommand) -> None:
        view = self.session.view
        # A command that synced before it ran reads no files again: it only takes in its
        # own changes (and other sessions' here) and sends EXPUNGEs it may.
        refresh = not self._synced
        self._synced = False
        if view is not None and self.session.state.state is State.SELECTED:
            try:
                self.session.out.extend(
                    view.sync(
                        allow_expunge=not parsed.spec.uses_sequence_numbers,
                        with_uid=parsed.name.startswith("UID "),
                        refresh=refresh,
                    )
                )
            except StorageError as e:
                log.warning(self.session.session_id, f"sync failed: {e!r}")
        self.session.out.append(reply.line(parsed.tag))
        streaming = self._flush()
        if streaming is not None:
            self._busy = True
            streaming.addCallbacks(self._streamed, self._stream_failed)
            return
        if self.session.state.state is State.LOGOUT:
            self._transport.loseConnection()

    def _streamed(self, _: object) -> None:
        self._busy = False
        if self.session.state.state is State.LOGOUT:
            self._transport.loseConnection()
            return
        self._process()

    def _stream_failed(self, failure: Failure) -> None:
        log.warning(self.session.session_id, f"streaming failed: {failure.getErrorMessage()}")
        self._transport.loseConnection()

    # -- commands that touch the connection ------------------------------------------------------

    def _logout_command(self, tag: str, cmd: c.Logout) -> Reply:
        self.session.out.append(b"* BYE Logging out\r\n")
        self.session.state.apply(Transition.LOGGED_OUT)
        self._logged_out = True
        log.info(self.session.session_id, f"Logged out in={self._bytes_in} out={self._bytes_out}")
        return ok("Logout completed")

    def _starttls(self, tag: str, cmd: c.StartTLS) -> Reply | None:
        if self.session.secure:
            return bad("TLS is already active")
        self._write(f"{tag} OK Begin TLS negotiation now.\r\n".encode())
        # Anything pipelined behind STARTTLS came in plaintext: a man in the middle could have
        # put it there (CVE-2011-0411 and kin). Drop it before the handshake.
        self.framer.discard_buffered()
        self._transport.startTLS(self.ctx.tls)
        self.session.secure = True
        return None

    def _compress(self, tag: str, cmd: c.Compress) -> Reply | None:
        if cmd.mechanism != "DEFLATE":
            return bad("Unsupported compression mechanism")
        if self._deflate is not None:
            return no("[COMPRESSIONACTIVE] DEFLATE active via COMPRESS")
        self._flush()
        self._write(f"{tag} OK DEFLATE active\r\n".encode())
        # Everything after the tagged OK is deflated both ways, including any bytes the
        # client already sent behind the command.
        self._deflate = Deflate()
        self._deflating = DeflatingTransport(self.transport, self._deflate)
        self.session.compressed = True
        rest = self.framer.take_buffered()
        if rest:
            try:
                self.framer.feed(self._deflate.decompress(rest))
            except CompressionError as e:
                self._compression_failed(e)
        return None

    def _compression_failed(self, error: CompressionError) -> None:
        log.warning(self.session.session_id, f"Disconnected: corrupt compressed input: {error}")
        self._logged_out = True
        self.session.state.state = State.LOGOUT
        self._transport.loseConnection()

    # -- logging in ----------------------------------------------------------------------------

    def _login(self, tag: str, cmd: c.Login) -> Reply | defer.Deferred[Reply]:
        if not self.session.plaintext_allowed:
            return no(
                "[PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure "
                "(SSL/TLS) connections."
            )
        return self._portal_login(cmd.user, cmd.password, "LOGIN")

    def _portal_login(self, user: bytes, password: bytes, method: str) -> defer.Deferred[Reply]:
        credentials: Any = UsernamePassword(user, password)
        d: defer.Deferred[Any] = self.ctx.portal.login(credentials, None, IMailUser)
        d.addCallbacks(self._logged_in, self._login_failed, callbackArgs=(method,))
        return d

    def _logged_in(self, result: tuple[Any, Any, Callable[[], None]], method: str) -> Reply:
        _, user, logout = result
        if not self.connected:
            logout()
            return ok("Gone")
        self._logout = logout
        store = self.ctx.stores.open(user)
        store.ensure_defaults()
        self.session.user = user
        self.session.store = store
        self.session.state.apply(Transition.LOGGED_IN)
        self.framer.authenticated = True
        peer, host = self._transport.getPeer(), self._transport.getHost()
        secured = ", TLS" if self.session.secure else ""
        log.info(
            self.session.session_id,
            f"Login: user=<{user.login}>, method={method}, rip={getattr(peer, 'host', '')}, "
            f"lip={getattr(host, 'host', '')}, mpid={os.getpid()}{secured}, "
            f"session=<{self.session.session_id}>",
        )
        return ok(f"[CAPABILITY {self.session.capabilities()}] Logged in")

    def _login_failed(self, failure: Failure) -> Reply:
        if failure.check(UnauthorizedLogin):
            return no("[AUTHENTICATIONFAILED] Authentication failed.")
        log.error(self.session.session_id, f"login failed: {failure.value!r}")
        return no("[UNAVAILABLE] Temporary authentication failure.")

    def _authenticate(self, tag: str, cmd: c.Authenticate) -> Reply | defer.Deferred[Reply] | None:
        if cmd.mechanism not in sasl.SASL_MECHANISMS:
            return no("Unsupported authentication mechanism.")
        if not self.session.plaintext_allowed:
            return no(
                "[PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure "
                "(SSL/TLS) connections."
            )
        try:
            exchange, result = sasl.SaslServer.start(cmd.mechanism, cmd.initial_response)
        except sasl.SaslError as e:
            return bad(str(e))
        parsed = ParsedCommand(tag, "AUTHENTICATE", _AUTH_SPEC, cmd)
        self._auth_step(parsed, exchange, result)
        return None

    def _auth_step(
        self,
        parsed: ParsedCommand,
        exchange: sasl.SaslServer,
        result: sasl.Challenge | sasl.Credentials,
    ) -> None:
        if isinstance(result, sasl.Challenge):
            self._write(f"+ {result.b64}\r\n".encode())
            self.framer.line_mode = True

            def on_line(line: bytes) -> None:
                self.framer.line_mode = False
                self._line_handler = None
                try:
                    step = exchange.step(line.decode("ascii", "replace"))
                except sasl.SaslCancelled:
                    self._busy = False
                    self._finish(bad("Authentication cancelled."), parsed)
                    return
                except sasl.SaslError as e:
                    self._busy = False
                    self._finish(bad(str(e)), parsed)
                    return
                self._auth_step(parsed, exchange, step)

            self._line_handler = on_line
            return
        if result.authzid and result.authzid != result.authcid:
            self._finish(no("[AUTHORIZATIONFAILED] Authorization failed."), parsed)
            return
        self._busy = True
        d = self._portal_login(
            result.authcid.encode(), result.password.encode(), exchange.mechanism
        )
        d.addCallback(self._finish_async, parsed)

    # -- APPEND and IDLE ----------------------------------------------------------------------

    def _idle(self, tag: str, cmd: c.Idle) -> None:
        self._idle_tag = tag
        self._write(b"+ idling\r\n")
        self.framer.line_mode = True
        self._line_handler = self._idle_line
        self._changed()
        self._idle_poll = task.LoopingCall(self._changed)
        self._idle_poll.clock = self.ctx.reactor
        self._idle_poll.start(IDLE_POLL_INTERVAL, now=False)

    def _idle_line(self, line: bytes) -> None:
        tag = self._idle_tag or "*"
        self._idle_tag = None
        self._line_handler = None
        self.framer.line_mode = False
        self._stop_idle_poll()
        parsed = ParsedCommand(tag, "IDLE", _IDLE_SPEC, None)
        if line.strip().upper() != b"DONE":
            self._finish(bad("Expected DONE."), parsed)
        else:
            self._finish(ok("Idle completed."), parsed)

    def _stop_idle_poll(self) -> None:
        if self._idle_poll is not None and self._idle_poll.running:
            self._idle_poll.stop()
        self._idle_poll = None

    def _changed(self) -> None:
        """A watched folder changed (or the IDLE poll ticked): tell an idling client now."""
        view = self.session.view if hasattr(self, "session") else None
        if self._idle_tag is None or view is None or not self.connected:
            if view is not None:
                view.mark_dirty()
            return
        try:
            self.session.out.extend(view.sync(allow_expunge=True))
        except StorageError as e:
            log.warning(self.session.session_id, f"sync failed: {e!r}")
        self._flush()


_AUTH_SPEC = COMMANDS["AUTHENTICATE"]
_IDLE_SPEC = COMMANDS["IDLE"]


class IMAPServerFactory(protocol.ServerFactory):
    def __init__(self, ctx: ServerContext, implicit_tls: bool) -> None:
        self.ctx = ctx
        self.implicit_tls = implicit_tls

    def buildProtocol(self, addr: Any) -> IMAPServerProtocol:
        proto = IMAPServerProtocol(self.ctx, self.implicit_tls)
        proto.factory = self
        return proto


def build_factory(ctx: ServerContext, *, implicit_tls: bool) -> protocol.ServerFactory:
    return IMAPServerFactory(ctx, implicit_tls)
