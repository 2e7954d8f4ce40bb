"""Delivering one queued message (blocking; the queue service runs it in a worker thread).

For each recipient still pending: local ones through the delivery function (``maa.lda``),
remote ones grouped by next hop through one SMTP transaction each. Every recipient's fate is
written (fsynced) to the envelope as soon as it is known — before the next hop is tried — so a
crash never delivers twice what was already acknowledged. Then the message is removed, or
deferred with a doubled backoff, and the sender gets a DSN for recipients that failed for good
or outlived ``[queue] lifetime``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, Protocol

import dns.resolver

from maa.auth.model import MailUser
from maa.config import Config
from maa.log import service_log
from maa.queue.aliases import AliasError
from maa.queue.bounce import build_dsn, wants_dsn
from maa.queue.cleanup import enqueue_bytes
from maa.queue.credentials import Credentials, credentials_for
from maa.queue.envelope import ClientInfo, Envelope, Recipient
from maa.queue.outbound import Message, Outcome, SmtpClient
from maa.queue.routing import (
    FileTable,
    LocalTarget,
    RemoteTarget,
    Router,
    UnknownTarget,
    with_domain,
)
from maa.queue.store import MessageBusy, NoSuchMessage, QueueName, QueueStore
from maa.queue.transport import NextHop

qmgr_log = service_log("qmgr")
local_log = service_log("local")
smtp_log = service_log("smtp")
bounce_log = service_log("bounce")

RunResult = Literal["removed", "deferred", "busy", "gone"]


@dataclass(frozen=True)
class LocalResult:
    outcome: Outcome
    reply: str  # "delivered to INBOX", "5.1.1 User doesn't exist"
    dsn_status: str


class LocalDeliver(Protocol):
    def __call__(
        self, user: MailUser, content: Path, *, sender: str, recipient: str, queue_id: str
    ) -> LocalResult: ...


def backoff(config: Config, attempts: int) -> float:
    """Seconds until the next try after ``attempts`` failed ones: ``min_backoff`` doubled per
    failure, at most ``max_backoff``."""
    q = config.queue
    return float(min(q.min_backoff * (2 ** max(attempts - 1, 0)), q.max_backoff))


def dsn_options(rcpt: Recipient) -> tuple[str, ...]:
    options = []
    if rcpt.notify:
        options.append("NOTIFY=" + ",".join(rcpt.notify))
    if rcpt.orcpt:
        options.append(f"ORCPT={rcpt.orcpt}")
    return tuple(options)


def format_delay(seconds: float) -> str:
    """As Postfix logs delays: 0.12, 4.4, 3600."""
    if seconds >= 100:
        return str(round(seconds))
    return f"{seconds:.2f}".rstrip("0").rstrip(".") or "0"


def set_due(path: Path, when: float) -> None:
    """A deferred envelope's mtime is its next attempt time (as in Postfix): the queue scan
    needs a stat, not a read, and ``maa queue flush`` only has to touch files."""
    os.utime(path, (when, when))


class Deliverer:
    def __init__(
        self,
        config: Config,
        store: QueueStore,
        router: Router,
        local: LocalDeliver,
        *,
        on_enqueue: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
        resolver: dns.resolver.Resolver | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.router = router
        self.local = local
        self.on_enqueue = on_enqueue
        self.clock = clock
        sub = config.submission
        self.relay_login: tuple[str, str] | None = None
        if sub.relayhost_user and sub.relayhost_password is not None:
            self.relay_login = (sub.relayhost_user, sub.relayhost_password)
        self.credentials = FileTable(sub.relayhost_credentials, Credentials.load)
        self.client = SmtpClient(config.server.hostname, resolver=resolver)

    def run(self, queue_id: str, source: QueueName) -> RunResult:
        """Deliver what can be delivered of one message now. ``source`` is the queue it is
        in; it is moved to ``active`` under the delivery lock first."""
        try:
            lock = self.store.lock(queue_id)
        except MessageBusy:
            return "busy"
        except NoSuchMessage:
            return "gone"
        with lock:
            try:
                if source != "active":
                    # Not fsynced: after a crash, either folder is picked up again.
                    self.store.move(queue_id, source, "active", durable=False)
                envelope = self.store.load("active", queue_id)
            except NoSuchMessage:
                return "gone"
            except (ValueError, KeyError, TypeError) as e:
                where = self.store.quarantine("active", queue_id)
                qmgr_log.error(queue_id, f"unreadable envelope ({e!r}): moved to {where}")
                return "gone"
            return self._deliver(envelope)

    # -- the steps -----------------------------------------------------------------------

    def _deliver(self, env: Envelope) -> RunResult:
        qid = env.queue_id
        qmgr_log.info(
            qid, f"from=<{env.sender}>, size={env.size}, nrcpt={len(env.recipients)} (queue active)"
        )
        # Recipients that fail without leaving this host (unknown user, error: route) are
        # recorded as they are found: trying them again after a crash gives the same answer.
        # Each delivery that leaves a trace elsewhere (a mailbox, the next hop) is recorded
        # durably before the next one starts — except the last, which _finish records.
        locals_: list[tuple[int, LocalTarget]] = []
        groups: dict[NextHop, list[int]] = {}
        for index, rcpt in enumerate(env.recipients):
            if rcpt.done:
                continue
            target = self.router.resolve(rcpt.address)
            if isinstance(target, LocalTarget):
                locals_.append((index, target))
            elif isinstance(target, UnknownTarget):
                env = self._record(
                    env, index, "bounced", "5.1.1 User doesn't exist", "5.1.1", "local", save=False
                )
            elif isinstance(target, RemoteTarget):
                route = target.route
                if route.kind == "error" or route.nexthop is None:
                    text = route.text or "5.0.0 mail for this destination is refused"
                    env = self._record(env, index, "bounced", text, text[:5], "none", save=False)
                else:
                    groups.setdefault(route.nexthop, []).append(index)
        steps = len(locals_) + len(groups)
        for index, target in locals_:
            steps -= 1
            env = self._deliver_local(env, index, target, save=steps > 0)
        for nexthop, indexes in groups.items():
            steps -= 1
            env = self._deliver_remote(env, nexthop, indexes, save=steps > 0)
        return self._finish(env)

    def _deliver_local(
        self, env: Envelope, index: int, target: LocalTarget, *, save: bool
    ) -> Envelope:
        rcpt = env.recipients[index]
        try:
            result = self.local(
                target.user,
                self.store.content_path(env.queue_id),
                sender=env.sender,
                recipient=target.address,
                queue_id=env.queue_id,
            )
        except Exception as e:  # a storage bug must defer this recipient, not lose the message
            local_log.error(env.queue_id, f"to=<{rcpt.address}>: {e!r}", exc_info=True)
            result = LocalResult("deferred", f"4.3.0 temporary failure: {e}", "4.3.0")
        return self._record(
            env, index, result.outcome, result.reply, result.dsn_status, "local", save=save
        )

    def _deliver_remote(
        self, env: Envelope, nexthop: NextHop, indexes: list[int], *, save: bool
    ) -> Envelope:
        addresses = tuple(env.recipients[i].address for i in indexes)
        message = Message(
            # A bare local sender (``root`` from ``maa sendmail``) is no address elsewhere.
            sender=with_domain(env.sender, self.config.server.hostname),
            recipients=addresses,
            content=self.store.content_path(env.queue_id),
            size=env.size,
            ret=env.ret,
            envid=env.envid,
            rcpt_options={
                env.recipients[i].address: dsn_options(env.recipients[i]) for i in indexes
            },
        )
        auth = credentials_for(
            nexthop,
            relayhost=self.router.relayhost,
            relay_login=self.relay_login,
            table=self.credentials.get(),
        )
        results = self.client.send(nexthop, message, auth=auth)
        by_address = {r.address: r for r in results}
        for i in indexes:
            r = by_address[env.recipients[i].address]
            env = self._record(env, i, r.outcome, r.reply, r.dsn_status, r.relay, save=False)
        if save:  # one fsync for the whole transaction, before the next hop is tried
            self.store.save("active", env)
        return env

    def _record(
        self,
        env: Envelope,
        index: int,
        outcome: Outcome,
        reply: str,
        status: str,
        relay: str,
        *,
        save: bool,
    ) -> Envelope:
        rcpt = env.recipients[index]
        new = replace(rcpt, status=outcome, reason=reply, dsn_status=status, remote=relay)
        env = env.with_recipient(index, new)
        if save:
            self.store.save("active", env)
        delay = self.clock() - env.arrival
        orig = f", orig_to=<{rcpt.original}>" if rcpt.original != rcpt.address else ""
        log = local_log if relay == "local" else smtp_log
        log.info(
            env.queue_id,
            f"to=<{rcpt.address}>{orig}, relay={relay}, delay={format_delay(delay)}, dsn={status}, "
            f"status={outcome} ({reply})",
        )
        return env

    def _finish(self, env: Envelope) -> RunResult:
        qid = env.queue_id
        now = self.clock()
        expired = now - env.arrival > self.config.queue.lifetime
        if expired and not env.finished:
            for i, r in enumerate(env.recipients):
                if not r.done:
                    reason = f"message expired after {self._age(env, now)} ({r.reason})"
                    env = env.with_recipient(i, replace(r, status="bounced", reason=reason))
            # Postfix's qmgr line, once per message (the DSN names the recipients).
            qmgr_log.info(qid, f"from=<{env.sender}>, status=expired, returned to sender")
        env = self._notify(env, expired=expired)
        if env.finished:
            self.store.remove("active", qid)
            qmgr_log.info(qid, "removed")
            return "removed"
        attempts = env.attempts + 1
        due = now + backoff(self.config, attempts)
        env = replace(env, attempts=attempts, next_attempt=due)
        self.store.save("active", env)
        self.store.move(qid, "active", "deferred", durable=False)
        set_due(self.store.path("deferred", qid), due)
        return "deferred"

    @staticmethod
    def _age(env: Envelope, now: float) -> str:
        return f"{(now - env.arrival) / 3600:.1f} hours"

    def _send_dsn(self, env: Envelope, failed: list[Recipient], *, expired: bool) -> None:
        try:
            recipients = self.router.envelope_recipients([env.sender])
        except AliasError as e:  # an alias loop: trying again would give the same
            bounce_log.error(env.queue_id, f"no non-delivery notification to <{env.sender}>: {e}")
            return
        dsn = build_dsn(
            env,
            failed,
            self.store.content_path(env.queue_id),
            hostname=self.config.server.hostname,
            expired=expired,
        )
        result = enqueue_bytes(
            self.store,
            dsn,
            sender="",
            recipients=recipients,
            client=ClientInfo(host="localhost", address="127.0.0.1", protocol="local"),
            hostname=self.config.server.hostname,
            received=False,
        )
        bounce_log.info(env.queue_id, f"sender non-delivery notification: {result.queue_id}")
        self.on_enqueue()

    def _notify(self, env: Envelope, *, expired: bool) -> Envelope:
        failed = [r for r in env.recipients if r.status == "bounced" and not r.notified]
        if not failed:
            return env
        wanted = [r for r in failed if wants_dsn(env, r)]
        if wanted:
            self._send_dsn(env, wanted, expired=expired)
        rcpts = tuple(
            replace(r, notified=True) if r.status == "bounced" else r for r in env.recipients
        )
        env = replace(env, recipients=rcpts)
        if not env.finished:  # else it is removed at once: no need to record
            self.store.save("active", env)
        return env
