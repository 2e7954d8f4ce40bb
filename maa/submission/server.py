"""The SMTP front: submission (587/465) and the port 25 role, as Twisted glue around the shared
sans-I/O engine (``maa.proto.smtp``, SMTP dialect).

``build_factory(ctx, implicit_tls=...)`` serves ``[submission] listen``/``listen_tls``;
``build_mx_factory(ctx)`` serves ``[smtp] listen``. Decisions are in ``policy``; messages
stream into the queue through ``maa.queue.cleanup.Intake`` and the 250 is sent only once the
queue file is fsynced (in a worker thread), then the queue manager is kicked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import threads
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure

from maa.auth.model import IMailUser, MailUser
from maa.context import ServerContext
from maa.log import service_log
from maa.proto import smtp
from maa.proto.smtp.replies import S451_LOCAL_ERROR, Reply
from maa.queue.cleanup import Intake, IntakeResult
from maa.queue.envelope import ClientInfo, Recipient
from maa.queue.routing import Router, dedupe
from maa.queue.service import notify_arrival
from maa.queue.store import QueueStore
from maa.submission.policy import (
    S235_AUTH_OK,
    S535_AUTH_FAILED,
    Policy,
    Role,
    content_rejected,
    engine_settings,
    in_networks,
    parse_networks,
    queued,
)
from maa.tls import is_loopback

log = service_log("smtpd")

# Postfix's smtpd_timeout: a client silent this long is disconnected.
IDLE_TIMEOUT = 300.0
S421_TIMEOUT = Reply(421, "4.4.2", "Error: timeout exceeded")


class SmtpSession(Protocol, TimeoutMixin):
    def __init__(self, factory: SmtpFactory) -> None:
        self.factory = factory
        self.ctx = factory.ctx
        self.engine: smtp.SmtpEngine | None = None
        self.user: MailUser | None = None
        self.sasl_method: str | None = None
        self._logout: Any = None
        self._helo = ""
        self._ehlo = False
        self._recipients: list[Recipient] = []
        self._mail_params: dict[str, str | None] = {}
        self._intake: Intake | None = None
        self._write_failed = False
        self._paused = False
        self.policy: Policy | None = None
        self.peer_host = "unknown"
        self.peer_address = ""

    # -- connection -----------------------------------------------------------------------

    def connectionMade(self) -> None:
        peer = self._tx.getPeer()
        self.peer_address = getattr(peer, "host", "") or "127.0.0.1"
        loopback = is_loopback(self.transport)
        self.peer_host = "localhost" if loopback else "unknown"
        log.info(None, f"connect from {self.label}")
        config = self.ctx.config
        self.policy = Policy(
            self.factory.role,
            config,
            self.factory.router,
            trusted_network=in_networks(self.peer_address, self.factory.networks),
        )
        self.engine = smtp.SmtpEngine(
            engine_settings(
                config, implicit_tls=self.factory.implicit_tls, peer_is_loopback=loopback
            )
        )
        self.setTimeout(IDLE_TIMEOUT)
        # Replies are small and each waits for the client: Nagle would hold them back.
        if hasattr(self._tx, "setTcpNoDelay"):
            self._tx.setTcpNoDelay(True)
        self._flush()

    @property
    def _tx(self) -> Any:
        """The transport, untyped: Twisted's interfaces confuse mypy's method binding."""
        return self.transport

    @property
    def label(self) -> str:
        return f"{self.peer_host}[{self.peer_address}]"

    def dataReceived(self, data: bytes) -> None:
        self.resetTimeout()
        assert self.engine is not None
        self.engine.receive_data(data)
        self._pump()

    def timeoutConnection(self) -> None:
        log.info(None, f"timeout after {self._stage()} from {self.label}")
        self._tx.write(S421_TIMEOUT.to_bytes())
        self._tx.loseConnection()

    def _stage(self) -> str:
        if self._intake is not None:
            return "DATA"
        return "RCPT" if self._recipients else "CONNECT"

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.setTimeout(None)
        self._abort_intake()
        if self._logout is not None:
            self._logout()
            self._logout = None
        log.info(None, f"disconnect from {self.label}")

    # -- the event loop -------------------------------------------------------------------

    def _pump(self) -> None:
        engine = self.engine
        if engine is None:
            return
        while (event := engine.next_event()) is not None:
            try:
                self._handle(event)
            except Exception:
                # A bug must cost this one command a 451, not hang or drop the client.
                log.error(
                    None, f"{self.label}: error handling {type(event).__name__}", exc_info=True
                )
                self._abort_intake()
                if engine.pending is not None:
                    engine.answer(S451_LOCAL_ERROR)
        self._flush()
        if engine.closed:
            self._tx.loseConnection()
            return
        if engine.should_pause_reading and not self._paused:
            self._paused = True
            self._tx.pauseProducing()
        elif self._paused and not engine.should_pause_reading:
            self._paused = False
            self._tx.resumeProducing()

    def _flush(self) -> None:
        if self.engine is not None:
            out = self.engine.data_to_send()
            if out:
                self._tx.write(out)

    def _answer(self, reply: Reply) -> None:
        """Answer the pending decision later (from a Deferred) and read on."""
        if self.engine is None or self.engine.pending is None:
            return
        self.engine.answer(reply)
        self._pump()

    def _handle(self, event: smtp.Event) -> None:
        assert self.engine is not None and self.policy is not None
        if isinstance(event, smtp.Hello):
            self._helo, self._ehlo = event.domain, event.verb == "EHLO"
        elif isinstance(event, smtp.MailFrom):
            reply = self.policy.mail_from(event.address, self.user)
            if reply.ok:
                self._mail_params = dict(event.params)
                self._recipients = []
            else:
                self._log_reject("MAIL", reply, event.address)
            self.engine.answer(reply)
        elif isinstance(event, smtp.RcptTo):
            self._rcpt(event)
        elif isinstance(event, smtp.MessageStart):
            self._start_message()
        elif isinstance(event, smtp.MessageChunk):
            self._write(event.data)
        elif isinstance(event, smtp.MessageEnd):
            self._end_message()
        elif isinstance(event, smtp.TransactionReset):
            if self._intake is not None and event.reason == "message size limit exceeded":
                sender = self.engine.mail.address if self.engine.mail else ""
                limit = self.ctx.config.mail.max_message_size
                log.info(
                    self._intake.queue_id,
                    f"reject: DATA from {self.label}: 552 5.3.4 message larger than {limit} "
                    f"bytes; from=<{sender}> proto={self._protocol()} helo=<{self._helo}>",
                )
            self._abort_intake()
            self._recipients = []
        elif isinstance(event, smtp.StartTlsRequested):
            self._flush()
            self._tx.startTLS(self.ctx.tls)
            self.engine.tls_started()
            # RFC 3207 4.2: nothing learnt before TLS counts after it.
            self._helo, self._ehlo, self._recipients = "", False, []
        elif isinstance(event, smtp.AuthCredentials):
            self._auth(event)
        elif isinstance(event, smtp.Closing):
            pass  # _pump closes once the reply is written

    # -- commands -------------------------------------------------------------------------

    def _rcpt(self, event: smtp.RcptTo) -> None:
        assert self.engine is not None and self.policy is not None
        notify_raw = event.params.get("NOTIFY") or ""
        notify = tuple(n for n in notify_raw.upper().split(",") if n)
        reply, recipients = self.policy.rcpt_to(
            event.address, self.user, notify=notify, orcpt=event.params.get("ORCPT")
        )
        if reply.ok:
            self._recipients.extend(recipients)
        else:
            sender = self.engine.mail.address if self.engine.mail else ""
            self._log_reject("RCPT", reply, sender, event.address)
        self.engine.answer(reply)

    def _log_reject(
        self, stage: str, reply: Reply, sender: str, recipient: str | None = None
    ) -> None:
        """Postfix's ``NOQUEUE: reject:`` line, which admins grep and fail2ban reads."""
        to = f" to=<{recipient}>" if recipient is not None else ""
        log.info(
            "NOQUEUE",
            f"reject: {stage} from {self.label}: {reply.code} {reply.status} "
            f"{reply.lines[0]}; from=<{sender}>{to} proto={self._protocol()} helo=<{self._helo}>",
        )

    def _auth(self, event: smtp.AuthCredentials) -> None:
        if event.authzid and event.authzid != event.authcid:
            log.warning(
                None,
                f"{self.label}: SASL {event.mechanism} authentication failed: "
                "authorization identity differs",
            )
            self.engine.answer(S535_AUTH_FAILED)  # type: ignore[union-attr]
            return
        credentials = UsernamePassword(
            event.authcid.encode("utf-8"), event.password.encode("utf-8")
        )
        d = self.ctx.portal.login(credentials, None, IMailUser)  # type: ignore[arg-type]

        def ok(result: tuple[Any, MailUser, Any]) -> None:
            _iface, user, logout = result
            if self.engine is None or self.transport is None:
                logout()
                return
            self.user, self._logout, self.sasl_method = user, logout, event.mechanism
            self._answer(S235_AUTH_OK)

        def failed(failure: Failure) -> None:
            if not failure.check(UnauthorizedLogin):
                log.error(None, f"{self.label}: authentication error: {failure.getErrorMessage()}")
            log.warning(
                None,
                f"{self.label}: SASL {event.mechanism} authentication failed: {event.authcid}",
            )
            self._answer(S535_AUTH_FAILED)

        d.addCallbacks(ok, failed)

    def _protocol(self) -> str:
        """RFC 3848's names for the Received header and logs."""
        if not self._ehlo:
            return "SMTP"
        secure = self.engine is not None and self.engine.tls_active
        return "ESMTP" + ("S" if secure else "") + ("A" if self.user is not None else "")

    # -- message content ------------------------------------------------------------------

    def _start_message(self) -> None:
        assert self.engine is not None and self.engine.mail is not None
        client = ClientInfo(
            host=self.peer_host,
            address=self.peer_address,
            helo=self._helo,
            protocol=self._protocol(),
            sasl_method=self.sasl_method,
            sasl_username=self.user.login if self.user else None,
        )
        self._write_failed = False
        try:
            self._intake = Intake(
                self.factory.store,
                sender=self.engine.mail.address,
                recipients=dedupe(self._recipients),
                client=client,
                hostname=self.ctx.config.server.hostname,
                header_checks=self.factory.router.header_checks,
                ret=(self._mail_params.get("RET") or "").upper() or None,
                envid=self._mail_params.get("ENVID"),
            )
        except OSError as e:
            log.error(None, f"{self.label}: cannot create a queue file: {e}")
            self._intake = None
            self._write_failed = True
            return
        sasl = ""
        if self.user is not None:
            sasl = f", sasl_method={self.sasl_method}, sasl_username={self.user.login}"
        log.info(self._intake.queue_id, f"client={self.label}{sasl}")

    def _write(self, data: bytes) -> None:
        if self._intake is None or self._write_failed:
            return
        try:
            self._intake.write(data)
        except OSError as e:
            log.error(self._intake.queue_id, f"queue file write error: {e}")
            self._write_failed = True

    def _end_message(self) -> None:
        intake, self._intake = self._intake, None
        if intake is None or self._write_failed:
            if intake is not None:
                intake.abort()
            self._answer_end(S451_LOCAL_ERROR)
            return
        d = threads.deferToThreadPool(
            self.ctx.reactor, self.ctx.reactor.getThreadPool(), intake.finish
        )

        def done(result: IntakeResult) -> None:
            if result.outcome == "rejected":
                self._answer_end(content_rejected(result.text))
                return
            if result.outcome == "queued":
                notify_arrival(self.factory.store)
            self._answer_end(queued(result.queue_id))

        def failed(failure: Failure) -> None:
            log.error(intake.queue_id, f"queue file write error: {failure.getErrorMessage()}")
            intake.abort()
            self._answer_end(S451_LOCAL_ERROR)

        d.addCallbacks(done, failed)

    def _answer_end(self, reply: Reply) -> None:
        self._recipients = []
        self._answer(reply)

    def _abort_intake(self) -> None:
        intake, self._intake = self._intake, None
        if intake is not None:
            intake.abort()


class SmtpFactory(ServerFactory):
    def __init__(self, ctx: ServerContext, role: Role, *, implicit_tls: bool) -> None:
        self.ctx = ctx
        self.role = role
        self.implicit_tls = implicit_tls
        # Folders are made by the queue service or on first use, after privileges drop.
        self.store = QueueStore(Path(ctx.config.server.data_dir) / "queue")
        self.router = Router(ctx.config, ctx.userdb)
        self.networks = parse_networks(ctx.config.smtp.mynetworks)

    def buildProtocol(self, addr: Any) -> SmtpSession:
        session = SmtpSession(self)
        session.factory = self
        return session


def build_factory(ctx: ServerContext, *, implicit_tls: bool) -> ServerFactory:
    """``[submission] listen`` (STARTTLS) and ``listen_tls`` (implicit TLS)."""
    return SmtpFactory(ctx, "submission", implicit_tls=implicit_tls)


def build_mx_factory(ctx: ServerContext) -> ServerFactory:
    """``[smtp] listen``: the port 25 role."""
    return SmtpFactory(ctx, "mx", implicit_tls=False)
