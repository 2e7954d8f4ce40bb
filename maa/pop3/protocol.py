"""The Twisted side of POP3: bytes from the socket into ``Pop3Session``, its actions carried
out against the cred portal, the storage contract and the transport."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, cast

from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import protocol, threads
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure

from maa.auth.model import IMailUser, MailUser
from maa.context import ServerContext
from maa.log import new_session_id, service_log
from maa.pop3.maildrop import MaildropInUse, MaildropLock, apply_update, open_maildrop
from maa.pop3.sender import MessageSender
from maa.proto.pop3 import (
    Action,
    Authenticate,
    Close,
    LoginFailure,
    MaildropView,
    MessageEncoder,
    Pop3Session,
    SendMessage,
    StartTLS,
    Update,
    Write,
)
from maa.storage.interface import Folder, MessageNotFound, StorageError
from maa.tls import is_loopback, is_secure

log = service_log("pop3")

# Seconds an idle-timed-out connection gets to take its "-ERR Disconnected" line before it is
# cut: a client that stopped reading would otherwise hold the connection open for ever.
CLOSE_GRACE = 10.0


@dataclass
class _Login:
    """What a successful login holds until the connection ends."""

    user: MailUser
    logout: Any
    folder: Folder | None = None
    lock: MaildropLock | None = None
    updating: bool = False  # the UPDATE state's expunge is running in a thread


class Pop3Protocol(protocol.Protocol, TimeoutMixin):
    def __init__(self, ctx: ServerContext, *, implicit_tls: bool) -> None:
        self.ctx = ctx
        self.implicit_tls = implicit_tls
        self.session_id = new_session_id()
        self.core: Pop3Session | None = None
        self._queue: deque[Action] = deque()
        self._executing = False
        self._login: _Login | None = None
        self._lost = False
        self._reading_paused = False
        self._sender: MessageSender | None = None
        self._close_reason = "Connection closed"
        self._failed_logins = 0
        self._last_attempt: Authenticate | None = None
        self._abort_call: Any = None
        self._addresses = "rip=?, lip=?"

    @property
    def _transport(self) -> Any:
        # Twisted types ``transport`` as Optional[ITransport]; ours also does TLS and
        # producers, which that interface does not declare.
        return self.transport

    # -- connection events ----------------------------------------------------------------

    def connectionMade(self) -> None:
        config = self.ctx.config
        # Kept now: a closed TCP transport can no longer tell its own address.
        peer, host = self._transport.getPeer(), self._transport.getHost()
        self._addresses = f"rip={getattr(peer, 'host', peer)}, lip={getattr(host, 'host', host)}"
        # A reply that follows another before the client has acknowledged it (USER's +OK,
        # then PASS's once the maildrop is open) would wait out the client's delayed ACK,
        # 40 ms on Linux, under Nagle's algorithm. Messages go out in large writes anyway.
        if hasattr(self._transport, "setTcpNoDelay"):
            self._transport.setTcpNoDelay(True)
        plaintext = not config.auth.disable_plaintext_auth or is_loopback(self._transport)
        self.core = Pop3Session(
            secure=self.implicit_tls or is_secure(self._transport),
            tls_available=self.ctx.tls is not None,
            plaintext_allowed=plaintext,
        )
        self.setTimeout(config.pop3.idle_timeout)
        self._execute(self.core.greeting())

    def dataReceived(self, data: bytes) -> None:
        assert self.core is not None
        self.resetTimeout()
        self._execute(self.core.receive_data(data))

    def timeoutConnection(self) -> None:
        assert self.core is not None
        self._close_reason = "Disconnected for inactivity"
        self._execute(self.core.timed_out())
        self._abort_call = self.callLater(CLOSE_GRACE, self._transport.abortConnection)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self._lost = True
        self.setTimeout(None)
        if self._abort_call is not None and self._abort_call.active():
            self._abort_call.cancel()
        if self._sender is not None:
            self._sender.stopProducing()
        if self.core is None:
            return
        seen = self.core.connection_lost()
        login = self._login
        if login is None:
            self._log_unauthenticated()
            return
        self._log_logout()
        if login.updating:
            return  # the update's completion releases the maildrop
        if seen and login.folder is not None:
            folder = login.folder
            d = self._in_thread(apply_update, folder, (), seen)
            d.addErrback(self._storage_failed, "flagging retrieved messages \\Seen")
            d.addBoth(lambda _: self._release(login))
        else:
            self._release(login)

    # -- carrying out the core's actions --------------------------------------------------

    def _execute(self, actions: list[Action]) -> None:
        """Run actions in order. An action finishing synchronously (a small message sent
        whole) hands back more actions; they are queued here rather than run recursively,
        so a thousand pipelined RETRs do not nest a thousand calls deep."""
        self._queue.extend(actions)
        if self._executing:
            return
        self._executing = True
        try:
            while self._queue:
                action = self._queue.popleft()
                if self._lost and not isinstance(action, Update):
                    continue
                self._do(action)
        finally:
            self._executing = False
        self._flow_control()

    def _do(self, action: Action) -> None:
        match action:
            case Write(data=data):
                self._transport.write(data)
            case Authenticate():
                self._authenticate(action)
            case StartTLS():
                self._transport.startTLS(self.ctx.tls)
            case SendMessage():
                self._send(action)
            case Update():
                self._update(action)
            case Close():
                self.setTimeout(None)
                if self._sender is not None:
                    # Timed out mid-message: stop the message, or the transport would
                    # resume it to flush before closing.
                    self._sender.stopProducing()
                self._transport.loseConnection()

    def _flow_control(self) -> None:
        """Stop reading while too much pipelined input waits behind a long answer."""
        if self.core is None or self._lost:
            return
        if self.core.input_backlog and not self._reading_paused:
            self._reading_paused = True
            self._transport.pauseProducing()
        elif self._reading_paused and not self.core.input_backlog:
            self._reading_paused = False
            self._transport.resumeProducing()

    def _in_thread(self, f: Any, *args: Any) -> Any:
        reactor = self.ctx.reactor
        return threads.deferToThreadPool(reactor, reactor.getThreadPool(), f, *args)

    # -- logging in -----------------------------------------------------------------------

    def _authenticate(self, action: Authenticate) -> None:
        credentials = UsernamePassword(
            action.user.encode("utf-8", "surrogateescape"),
            action.password.encode("utf-8", "surrogateescape"),
        )
        d = self.ctx.portal.login(cast(Any, credentials), None, IMailUser)
        d.addCallbacks(
            self._authenticated,
            self._unauthorized,
            callbackArgs=(action,),
            errbackArgs=(action,),
        )
        d.addErrback(self._login_broke, action)

    def _authenticated(self, result: tuple[Any, MailUser, Any], action: Authenticate) -> None:
        _, user, logout = result
        if self._lost or self.core is None or self.core.closed:
            logout()
            return
        login = _Login(user, logout)
        self._login = login
        try:
            store = self.ctx.stores.open(user)
        except (StorageError, OSError, ValueError) as e:
            self._maildrop_failed(Failure(e), login)
            return
        owner = (user.uid, user.gid) if user.uid is not None and user.gid is not None else None
        d = self._in_thread(open_maildrop, store, user.mail_location, owner)
        d.addCallbacks(
            self._maildrop_opened,
            self._maildrop_failed,
            callbackArgs=(login, action),
            errbackArgs=(login,),
        )

    def _maildrop_opened(
        self,
        opened: tuple[Folder, MaildropView, MaildropLock],
        login: _Login,
        action: Authenticate,
    ) -> None:
        login.folder, view, login.lock = opened
        assert self.core is not None
        if self._lost or self.core.closed:
            self._release(login)
            return
        tls = ", TLS" if self.core.secure else ""
        log.info(
            self.session_id,
            f"Login: user=<{login.user.login}>, method={action.mechanism}, "
            f"{self._where()}{tls}, session=<{self.session_id}>",
        )
        self._execute(self.core.login_succeeded(view))

    def _maildrop_failed(self, failure: Failure, login: _Login) -> None:
        if failure.check(MaildropInUse):
            self._login = None
            self._release(login)
            user = login.user.login
            log.info(self.session_id, f"Mailbox in use: user=<{user}>, {self._where()}")
            if not self._lost:
                self._login_failed(LoginFailure.MAILDROP_LOCKED)
            return
        log.error(
            self.session_id,
            f"user=<{login.user.login}>: opening the maildrop failed: {failure.value}",
        )
        self._login = None
        self._release(login)
        if not self._lost:
            self._login_failed(LoginFailure.MAILDROP_UNAVAILABLE)

    def _unauthorized(self, failure: Failure, action: Authenticate) -> None:
        failure.trap(UnauthorizedLogin)
        self._failed_logins += 1
        self._last_attempt = action
        if self._lost:
            return
        log.info(
            self.session_id,
            f"Authentication failed: user=<{action.user}>, method={action.mechanism}, "
            f"{self._where()}",
        )
        self._login_failed(LoginFailure.BAD_CREDENTIALS)

    def _login_broke(self, failure: Failure, action: Authenticate) -> None:
        log.error(self.session_id, f"user=<{action.user}>: login failed: {failure.value}")
        if not self._lost and self.core is not None and self.core.busy:
            self._login_failed(LoginFailure.MAILDROP_UNAVAILABLE)

    def _login_failed(self, reason: LoginFailure) -> None:
        assert self.core is not None
        self._execute(self.core.login_failed(reason))

    def _release(self, login: _Login) -> None:
        if login.lock is not None:
            login.lock.release()
            login.lock = None
        if login.logout is not None:
            login.logout()
            login.logout = None

    def _where(self) -> str:
        return self._addresses

    # -- RETR, TOP ------------------------------------------------------------------------

    def _send(self, action: SendMessage) -> None:
        assert self.core is not None and self._login is not None
        folder = self._login.folder
        assert folder is not None
        try:
            stream = folder.open(action.uid)
        except MessageNotFound:
            self._execute(self.core.send_failed(gone=True))
            return
        except (StorageError, OSError) as e:
            log.error(self.session_id, f"opening message UID {action.uid} failed: {e}")
            self._execute(self.core.send_failed(gone=False))
            return
        sender = MessageSender(
            self.transport,
            stream,
            MessageEncoder(action.body_lines),
            on_done=self._sent,
            on_progress=self.resetTimeout,
            header=action.header,
        )
        self._sender = sender
        sender.start()

    def _sent(self, octets: int | None) -> None:
        sender, self._sender = self._sender, None
        if octets is None:
            if sender is not None and sender.error is not None:
                log.error(self.session_id, f"reading a message failed: {sender.error}")
            return  # the connection is gone or going
        assert self.core is not None
        self._execute(self.core.send_finished(octets))

    # -- QUIT -----------------------------------------------------------------------------

    def _update(self, action: Update) -> None:
        login = self._login
        assert login is not None and login.folder is not None and self.core is not None
        login.updating = True
        self._close_reason = "Logged out"
        self.setTimeout(None)  # the expunge is the server's work, not an idle client
        d = self._in_thread(apply_update, login.folder, action.expunge, action.seen)
        d.addCallbacks(lambda _: True, self._storage_failed, errbackArgs=("expunging",))
        d.addCallback(self._updated, login)

    def _updated(self, ok: bool, login: _Login) -> None:
        login.updating = False
        if self._lost:
            self._release(login)
            return
        assert self.core is not None
        self._execute(self.core.update_finished(ok))

    def _storage_failed(self, failure: Failure, doing: str) -> bool:
        log.error(self.session_id, f"{doing} failed: {failure.value}")
        return False

    def _log_unauthenticated(self) -> None:
        attempt = self._last_attempt
        if self._failed_logins and attempt is not None:
            log.info(
                self.session_id,
                f"Disconnected (auth failed, {self._failed_logins} attempts): "
                f"user=<{attempt.user}>, method={attempt.mechanism}, {self._where()}",
            )
        else:
            log.info(self.session_id, f"Disconnected (no auth attempts): {self._where()}")

    def _log_logout(self) -> None:
        assert self.core is not None
        s = self.core.stats
        log.info(
            self.session_id,
            f"Disconnected: {self._close_reason} top={s.top_count}/{s.top_bytes}, "
            f"retr={s.retr_count}/{s.retr_bytes}, del={s.deleted}/{s.messages}, "
            f"size={s.size}",
        )
