"""The queue manager (Postfix's qmgr) as a Twisted service: ``build_service(ctx)``.

It picks up new messages from ``incoming`` (at once when this process queued them, through
``notify_arrival``; within ``PICKUP_INTERVAL`` when another process such as ``maa sendmail``
did), retries ``deferred`` ones whose time has come (every ``[queue] run_interval``), and runs
each delivery in the reactor's thread pool. On start, messages left in ``active`` by a crash
are delivered again (recipients already recorded as sent are skipped). ``SIGUSR1`` (sent by
``maa queue flush``) makes every deferred message due now.

While it runs it holds an ``flock`` on ``queue/qmgr.pid``, which holds its pid: that is how
``maa queue flush`` knows a manager runs and whom to signal.
"""

from __future__ import annotations

import fcntl
import os
import signal
import time
from pathlib import Path
from typing import Any

from twisted.application.service import IService, Service
from twisted.internet import defer, task, threads
from twisted.python.failure import Failure

from maa.context import ServerContext
from maa.log import service_log
from maa.queue.admin import make_due
from maa.queue.delivery import Deliverer, RunResult, set_due
from maa.queue.local import lda_delivery
from maa.queue.routing import Router
from maa.queue.store import MANAGER_LOCK, NoSuchMessage, QueueName, QueueStore

log = service_log("qmgr")

# How often to look for messages queued by other processes (a stat of incoming/).
PICKUP_INTERVAL = 1.0
# Messages delivered at once; each holds a worker thread (and maybe an SMTP connection) for
# its duration. Postfix's default_destination_concurrency_limit is 20.
MAX_ACTIVE = 16

# Queue managers of this process, by queue folder: a listener's arrival kicks its own.
_running: dict[Path, QueueService] = {}


def notify_arrival(store: QueueStore) -> None:
    """Tell this process's queue manager (if any) that a message was queued."""
    service = _running.get(store.root)
    if service is not None:
        service.kick()


class QueueService(Service):
    name = "qmgr"

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.reactor = ctx.reactor
        # Folders are made in startService: after ``maa serve`` has dropped privileges.
        self.store = QueueStore(Path(ctx.config.server.data_dir) / "queue")
        self.router = Router(ctx.config, ctx.userdb)
        self.deliverer = Deliverer(
            ctx.config,
            self.store,
            self.router,
            lda_delivery(ctx),
            on_enqueue=lambda: self.reactor.callFromThread(self.kick),
        )
        self._inflight: dict[str, defer.Deferred[RunResult]] = {}
        self._loops: list[task.LoopingCall] = []
        self._kick_pending = False
        self._incoming_seen: tuple[int, int] | None = None
        self._lock_fd: int | None = None
        self._old_handler: Any = None

    # -- lifecycle ------------------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self.store.ensure()
        self._take_lock()
        _running[self.store.root] = self
        self.store.remove_orphans()
        recovered = self.store.ids("active")
        if recovered:
            log.info(None, f"recovering {len(recovered)} message(s) left in the active queue")
        for queue_id in recovered:
            self._dispatch(queue_id, "active")
        scan = task.LoopingCall(self.scan)
        scan.clock = self.reactor
        scan.start(self.ctx.config.queue.run_interval, now=True)
        pickup = task.LoopingCall(self._pickup)
        pickup.clock = self.reactor
        pickup.start(PICKUP_INTERVAL, now=False)
        self._loops = [scan, pickup]
        self._install_signal()

    def stopService(self) -> defer.Deferred[Any]:
        super().stopService()
        for loop in self._loops:
            if loop.running:
                loop.stop()
        self._loops = []
        self._restore_signal()
        if _running.get(self.store.root) is self:
            del _running[self.store.root]
        pending = list(self._inflight.values())
        d: defer.Deferred[Any] = defer.DeferredList(pending, consumeErrors=True)
        d.addBoth(lambda _: self._release_lock())
        return d

    def _take_lock(self) -> None:
        path = self.store.root / MANAGER_LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            log.warning(None, f"another queue manager runs on {self.store.root}")
            os.close(fd)
            return
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _install_signal(self) -> None:
        try:
            self._old_handler = signal.signal(
                signal.SIGUSR1, lambda *_: self.reactor.callFromThread(self.flush)
            )
        except ValueError:  # not the main thread: flush requests then wait for the scan
            self._old_handler = None

    def _restore_signal(self) -> None:
        if self._old_handler is not None:
            try:
                signal.signal(signal.SIGUSR1, self._old_handler)
            except ValueError:
                pass
            self._old_handler = None

    # -- scheduling -----------------------------------------------------------------------

    def kick(self) -> None:
        """Look at the queue soon (coalesced: many arrivals, one scan)."""
        if not self._kick_pending and self.running:
            self._kick_pending = True
            self.reactor.callLater(0, self._kicked)

    def _kicked(self) -> None:
        self._kick_pending = False
        self.scan()

    def flush(self) -> None:
        """Make every deferred message due now (``postqueue -f``)."""
        n = make_due(self.store)
        log.info(None, f"flush: {n} deferred message(s) due now")
        self.scan()

    def _pickup(self) -> None:
        try:
            st = os.stat(self.store.root / "incoming")
        except FileNotFoundError:
            return
        stamp = (st.st_mtime_ns, st.st_nlink)
        if stamp != self._incoming_seen or self.store.ids("incoming"):
            self._incoming_seen = stamp
            self.scan()

    def scan(self) -> None:
        if not self.running:
            return
        for queue_id in self.store.ids("incoming"):
            self._dispatch(queue_id, "incoming")
        now = time.time()
        for queue_id in self.store.ids("deferred"):
            try:
                due = os.stat(self.store.path("deferred", queue_id)).st_mtime
            except FileNotFoundError:
                continue
            if due <= now:
                self._dispatch(queue_id, "deferred")

    def _dispatch(self, queue_id: str, source: QueueName) -> None:
        if queue_id in self._inflight or len(self._inflight) >= MAX_ACTIVE:
            return
        d = threads.deferToThreadPool(
            self.reactor, self.reactor.getThreadPool(), self.deliverer.run, queue_id, source
        )
        self._inflight[queue_id] = d

        def done(result: Any) -> Any:
            self._inflight.pop(queue_id, None)
            if isinstance(result, Failure):
                log.error(queue_id, f"delivery failed: {result.getTraceback()}")
                self._park(queue_id)
            elif result in ("removed", "deferred"):
                self.kick()  # a slot is free: queued messages may be waiting for it
            return None

        d.addBoth(done)

    def _park(self, queue_id: str) -> None:
        """After a delivery ended in an error (a bug, a full disk), its message is in
        active/, where only a restart would look again: defer it for ``min_backoff``, as
        Postfix's qmgr defers a message whose delivery agent died."""
        delay = self.ctx.config.queue.min_backoff
        try:
            self.store.move(queue_id, "active", "deferred")
            set_due(self.store.path("deferred", queue_id), time.time() + delay)
        except (NoSuchMessage, OSError) as e:
            log.error(queue_id, f"cannot defer after the error: {e!r}")
            return
        log.warning(queue_id, f"deferred after a delivery error, next try in {delay:g} s")

    @property
    def idle(self) -> bool:
        return not self._inflight


def build_service(ctx: ServerContext) -> IService:
    return QueueService(ctx)  # type: ignore[return-value]
