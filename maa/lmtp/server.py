"""LMTP intake (RFC 2033): the Twisted glue between a connection, the SMTP engine in its
LMTP dialect, the userdb and ``maa.lda.deliver``.

RCPT is checked against the userdb at once; content streams into a ``Spool`` while it
arrives; at the end of data every accepted recipient is delivered concurrently in the
delivery threads (``maa.lmtp.workers``), and each recipient's 250 goes out only once its
append returned (durable).
"""

from __future__ import annotations

import email.utils
import time
from pathlib import Path
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, fail
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure

from maa.auth.model import MailUser
from maa.context import ServerContext
from maa.lda import SMALL_MESSAGE, DeliveryResult, begin_deliver, deliver, resolve_recipient
from maa.lmtp.spool import Spool, remove_stale
from maa.lmtp.workers import delivery_threads
from maa.log import new_session_id, service_log
from maa.proto.smtp import Dialect, Settings, SmtpEngine
from maa.proto.smtp import events as ev
from maa.proto.smtp.replies import S250_SENDER_OK, Reply
from maa.storage.interface import INBOX

log = service_log("lmtp")

# A client silent this long (between commands, or mid-DATA) is dropped; Postfix's own LMTP
# client gives up after 300 s per command (lmtp_*_timeout), so waiting longer gains nothing.
IDLE_TIMEOUT = 300.0


def peer_names(transport: Any) -> tuple[str, str | None]:
    """(host name for logs, IP or None for a UNIX socket). No DNS lookups: loopback is
    ``localhost``, anything else ``unknown`` as Postfix says without a PTR name."""
    peer = transport.getPeer()
    if isinstance(peer, IPv4Address | IPv6Address):
        loop = peer.host.startswith("127.") or peer.host == "::1"
        return ("localhost" if loop else "unknown"), peer.host
    return "local", None


_date_cache: tuple[int, str] = (0, "")


def _received_date() -> str:
    """RFC 5322 date of the current second. Formatting one costs more than the rest of the
    header, and a busy intake writes hundreds in the same second."""
    global _date_cache
    now = int(time.time())
    second, text = _date_cache
    if second != now:
        text = email.utils.formatdate(now, localtime=True)
        _date_cache = (now, text)
    return text


def received_header(
    lhlo: str, ip: str | None, hostname: str, session: str, sender: str, recipient: str
) -> bytes:
    """Dovecot's LMTP trace header, in the same shape."""
    origin = f"{lhlo} ([{ip}])" if ip else f"{lhlo} (local)"
    date = _received_date()
    text = (
        f"Received: from {origin}\r\n"
        f"\tby {hostname} (maa) with LMTP id {session}\r\n"
        f"\t(envelope-from <{sender}>)\r\n"
        f"\tfor <{recipient}>; {date}\r\n"
    )
    return text.encode("utf-8", "surrogateescape")


class LmtpProtocol(Protocol, TimeoutMixin):
    transport: Any

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        config = ctx.config
        self.engine = SmtpEngine(
            Settings(
                Dialect.LMTP,
                config.server.hostname,
                config.mail.max_message_size,
                max_recipients=config.lmtp.max_recipients,
                max_command_line=config.lmtp.max_line_length,
            )
        )
        self.session = new_session_id()
        self._threads = delivery_threads(ctx.reactor)
        self.spool_dir = Path(config.server.data_dir) / "tmp"
        self._spool: Spool | None = None
        self._users: list[tuple[MailUser, str | None]] = []  # aligned with accepted RCPTs
        self._lhlo = "unknown"
        self._draining = False
        self._paused = False
        self._host = "unknown"
        self._ip: str | None = None
        self._gone = False

    # -- connection -------------------------------------------------------------------------

    def connectionMade(self) -> None:
        self._host, self._ip = peer_names(self.transport)
        where = f"{self._host}[{self._ip}]" if self._ip else self._host
        log.info(self.session, f"connect from {where}")
        # With several recipients, each one's reply goes out when its delivery is durable,
        # while the client (waiting for all of them) has not acknowledged the previous one:
        # Nagle's algorithm would hold every reply after the first for the client's delayed
        # ACK, 40 ms on Linux.
        no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if no_delay is not None:
            no_delay(True)
        self.setTimeout(IDLE_TIMEOUT)
        self._flush()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._gone = True
        self.setTimeout(None)
        if self._spool is not None:
            self._spool.discard()
            self._spool = None
        where = f"{self._host}[{self._ip}]" if self._ip else self._host
        log.info(self.session, f"disconnect from {where}")

    def timeoutConnection(self) -> None:
        log.info(self.session, "timeout: no data from client")
        self.transport.write(b"421 4.4.2 Idle timeout, closing connection\r\n")
        self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        self.resetTimeout()
        self.engine.receive_data(data)
        self._drain()

    # -- event loop -------------------------------------------------------------------------

    def _drain(self) -> None:
        if self._draining or self._gone:
            return
        self._draining = True
        try:
            while (event := self.engine.next_event()) is not None:
                self._handle(event)
        finally:
            self._draining = False
        self._flush()

    def _flush(self) -> None:
        out = self.engine.data_to_send()
        if out and not self._gone:
            self.transport.write(out)
        if self.engine.closed:
            self.transport.loseConnection()
            return
        if self.engine.should_pause_reading and not self._paused:
            self._paused = True
            self.transport.pauseProducing()
        elif self._paused and not self.engine.should_pause_reading:
            self._paused = False
            self.transport.resumeProducing()

    def _handle(self, event: ev.Event) -> None:
        if isinstance(event, ev.Hello):
            self._lhlo = event.domain
        elif isinstance(event, ev.MailFrom):
            self._users = []
            self.engine.answer(S250_SENDER_OK)
        elif isinstance(event, ev.RcptTo):
            self.engine.answer(self._check_recipient(event.address))
        elif isinstance(event, ev.MessageStart):
            self._spool = Spool(self.spool_dir)
        elif isinstance(event, ev.MessageChunk):
            assert self._spool is not None
            self._spool.write(event.data)
        elif isinstance(event, ev.MessageEnd):
            self._deliver_all(event)
        elif isinstance(event, ev.TransactionReset):
            if self._spool is not None and event.reason == "message size limit exceeded":
                limit = self.ctx.config.mail.max_message_size
                log.info(self.session, f"rejected: message larger than {limit} bytes")
            self._users = []
            if self._spool is not None:
                self._spool.discard()
                self._spool = None

    def _check_recipient(self, address: str) -> Reply:
        delimiter = self.ctx.config.mail.recipient_delimiter
        try:
            user, detail = resolve_recipient(self.ctx.userdb, address, delimiter)
        except Exception as e:  # an unreadable users file: the MTA should retry, not bounce
            log.error(self.session, f"rcpt <{address}>: user lookup failed: {e!r}")
            return Reply(451, "4.3.0", f"<{address}> Temporary user lookup failure")
        if user is None:
            log.info(self.session, f"rcpt <{address}>: unknown user")
            return Reply(550, "5.1.1", f"<{address}> User doesn't exist: {address}")
        self._users.append((user, detail))
        return Reply(250, "2.1.5", "OK")

    # -- delivery ---------------------------------------------------------------------------

    def _deliver_all(self, end: ev.MessageEnd) -> None:
        spool, self._spool = self._spool, None
        users, self._users = self._users, []
        if spool is None:  # BDAT 0 LAST as the whole message
            spool = Spool(self.spool_dir)
        spool.finish()
        self.setTimeout(None)  # the client is waiting for us now, not the other way round
        remaining = [len(end.recipients)]

        def done(result: DeliveryResult | Failure, index: int, rcpt: str) -> None:
            if isinstance(result, Failure):
                log.error(self.session, f"delivery to <{rcpt}> failed: {result.value!r}")
                reply = Reply(451, "4.3.0", f"<{rcpt}> Temporary internal failure")
            elif result.ok:
                reply = Reply(250, "2.0.0", f"<{rcpt}> {self.session} Saved")
            else:
                reply = Reply(result.code, result.status, f"<{rcpt}> {result.reason}")
            remaining[0] -= 1
            if remaining[0] == 0:
                spool.discard()
                if not self._gone:
                    self.setTimeout(IDLE_TIMEOUT)
            if self._gone:
                return
            self.engine.answer_recipient(index, reply)
            self._drain()

        for index, (rcpt, (user, detail)) in enumerate(zip(end.recipients, users, strict=True)):
            extra = received_header(
                self._lhlo,
                self._ip,
                self.ctx.config.server.hostname,
                self.session,
                end.sender,
                rcpt.address,
            )
            d = self._begin(spool, user, end.sender, rcpt.address, detail or INBOX, extra)
            if d is None:
                d = self._threads.run(
                    _deliver_one,
                    self.ctx,
                    user,
                    spool,
                    end.sender,
                    rcpt.address,
                    detail or INBOX,
                    extra,
                    self.session,
                )
            d.addBoth(done, index, rcpt.address)

    def _begin(
        self,
        spool: Spool,
        user: MailUser,
        sender: str,
        recipient: str,
        folder: str,
        extra: bytes,
    ) -> Deferred[DeliveryResult] | None:
        """Start the delivery of a small message here in the reactor, leaving only the wait
        for the disk to another thread (see ``lda.begin_deliver``); None to run it in a
        delivery thread instead."""
        message = spool.data
        if message is None or len(message) > SMALL_MESSAGE:
            return None
        try:
            started = begin_deliver(
                self.ctx,
                user,
                message,
                sender=sender,
                recipient=recipient,
                folder=folder,
                extra_headers=extra,
                session=self.session,
            )
        except Exception:
            return fail(Failure())
        if started is None:
            return None
        return self._threads.watch(started.saving).addBoth(lambda _: started.outcome())


def _deliver_one(
    ctx: ServerContext,
    user: MailUser,
    spool: Spool,
    sender: str,
    recipient: str,
    folder: str,
    extra: bytes,
    session: str,
) -> DeliveryResult:
    with spool.open() as source:
        return deliver(
            ctx,
            user,
            source,
            sender=sender,
            recipient=recipient,
            folder=folder,
            extra_headers=extra,
            session=session,
        )


class LmtpFactory(ServerFactory):
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        remove_stale(Path(ctx.config.server.data_dir) / "tmp")

    def buildProtocol(self, addr: Any) -> LmtpProtocol:
        protocol = LmtpProtocol(self.ctx)
        protocol.factory = self
        return protocol


def build_factory(ctx: ServerContext, *, implicit_tls: bool) -> ServerFactory:
    """The LMTP listener's factory. LMTP runs on loopback or a UNIX socket to the MTA, so
    there is no STARTTLS; ``implicit_tls`` listeners get the same protocol inside TLS."""
    return LmtpFactory(ctx)
