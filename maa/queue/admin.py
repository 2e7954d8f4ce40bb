"""What ``maa queue`` and ``maa sendmail -bp/-q`` do: list, flush, delete, hold, release
(Postfix's ``postqueue -p``/``-f`` and ``postsuper -d``/``-h``/``-H``).

A running queue manager holds an ``flock`` on ``queue/qmgr.pid`` (which holds its pid): a
flush signals it with SIGUSR1; with no manager running, the flush delivers in this process.
"""

from __future__ import annotations

import errno
import fcntl
import os
import pwd
import signal
import time
from pathlib import Path

from maa.config import Config
from maa.log import service_log
from maa.queue.delivery import Deliverer, set_due
from maa.queue.store import MANAGER_LOCK, NoSuchMessage, QueuedMessage, QueueStore

log = service_log("postsuper")

# How long delete/hold wait for a delivery in progress to finish with the message.
BUSY_WAIT = 30.0
_MARK = {"active": "*", "hold": "!", "incoming": "", "deferred": ""}


def queue_owner(config: Config) -> tuple[int, int] | None:
    """Who must own what root writes into the queue: ``[server] user``, when we are root."""
    if os.geteuid() != 0 or not config.server.user:
        return None
    entry = pwd.getpwnam(config.server.user)
    return entry.pw_uid, entry.pw_gid


def open_store(config: Config) -> QueueStore:
    return QueueStore.for_data_dir(Path(config.server.data_dir), owner=queue_owner(config))


def running_manager(store: QueueStore) -> int | None:
    """The pid of the queue manager serving ``store``, if one runs."""
    path = store.root / MANAGER_LOCK
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            return int(text) if text.isdigit() else None
        return None  # we got the lock: nobody holds it
    finally:
        os.close(fd)


def format_listing(store: QueueStore) -> str:
    """``postqueue -p``."""
    rows: list[str] = []
    total = 0
    count = 0
    for queued in sorted(store.messages(), key=lambda q: q.envelope.arrival):
        env = queued.envelope
        count += 1
        total += env.size
        arrival = time.strftime("%a %b %d %H:%M:%S", time.localtime(env.arrival))
        mark = _MARK[queued.queue] or " "
        sender = env.sender or "MAILER-DAEMON"
        rows.append(f"{env.queue_id:<12}{mark}{env.size:>8} {arrival}  {sender}")
        # As postqueue -p: a reason at the start of its line, then the recipients it
        # applies to, each reason once.
        last_reason = ""
        for r in sorted(env.pending, key=lambda r: r.reason):
            if r.reason != last_reason:
                rows.append(f"({r.reason})")
            last_reason = r.reason
            rows.append(f"{'':<43}{r.address}")
        rows.append("")
    if not count:
        return "Mail queue is empty\n"
    header = "-Queue ID-   --Size-- ---Arrival Time---  -Sender/Recipient-------"
    plural = "Request" if count == 1 else "Requests"
    footer = f"-- {max(1, (total + 1023) // 1024)} Kbytes in {count} {plural}."
    return "\n".join([header, *rows, footer]) + "\n"


def describe(store: QueueStore, queued: QueuedMessage, *, body: bool) -> bytes:
    """``postcat -q``: the envelope, one recipient a line with its state, then the headers
    (and with ``body`` the whole content)."""
    env = queued.envelope
    lines = [
        f"*** ENVELOPE RECORDS {queued.queue}/{env.queue_id} ***",
        f"arrival_time: {time.ctime(env.arrival)}",
        f"message_size: {env.size}",
        f"sender: {env.sender}",
        f"client: {env.client.label} helo={env.client.helo} proto={env.client.protocol}",
    ]
    if env.client.sasl_username:
        lines.append(f"sasl_method: {env.client.sasl_method}")
        lines.append(f"sasl_username: {env.client.sasl_username}")
    lines.append(f"attempts: {env.attempts}")
    for r in env.recipients:
        orig = f" (orig_to {r.original})" if r.original != r.address else ""
        reason = f": {r.reason}" if r.reason else ""
        lines.append(f"recipient: {r.address}{orig} [{r.status}]{reason}")
    lines.append("*** MESSAGE CONTENTS ***")
    out = ("\n".join(lines) + "\n").encode()
    with store.content_path(env.queue_id).open("rb") as f:
        for line in f:
            out += line.replace(b"\r\n", b"\n")
            if not body and line in (b"\r\n", b"\n"):
                break
    return out


def make_due(store: QueueStore) -> int:
    """Every deferred message due now; how many there are."""
    now = time.time()
    n = 0
    for queue_id in store.ids("deferred"):
        try:
            set_due(store.path("deferred", queue_id), now)
            n += 1
        except FileNotFoundError:
            continue
    return n


def signal_flush(pid: int) -> bool:
    try:
        os.kill(pid, signal.SIGUSR1)
        return True
    except ProcessLookupError:
        return False


def deliver_now(store: QueueStore, deliverer: Deliverer) -> list[tuple[str, str]]:
    """Deliver incoming and due deferred messages in this process (no manager runs);
    bounces made on the way are delivered too."""
    done: list[tuple[str, str]] = []
    seen: set[str] = set()
    for _ in range(10):  # bounces of bounces are impossible; 10 rounds is plenty
        batch = [("incoming", q) for q in store.ids("incoming") if q not in seen]
        due = [q for q in store.ids("deferred") if q not in seen and _due(store, q)]
        batch += [("deferred", q) for q in due]
        if not batch:
            break
        for source, queue_id in batch:
            seen.add(queue_id)
            done.append((queue_id, deliverer.run(queue_id, source)))  # type: ignore[arg-type]
    return done


def _due(store: QueueStore, queue_id: str) -> bool:
    try:
        return os.stat(store.path("deferred", queue_id)).st_mtime <= time.time()
    except FileNotFoundError:
        return False


def delete(store: QueueStore, queue_id: str) -> None:
    """``postsuper -d``: wait for a delivery in progress, then remove from any queue."""
    with store.lock(queue_id, wait=BUSY_WAIT):
        found = store.find(queue_id)
        store.remove(found.queue, queue_id)
    log.info(queue_id, "removed")


def hold(store: QueueStore, queue_id: str) -> None:
    """``postsuper -h``."""
    with store.lock(queue_id, wait=BUSY_WAIT):
        found = store.find(queue_id)
        if found.queue != "hold":
            store.move(queue_id, found.queue, "hold")
            log.info(queue_id, "placed on hold")


def release(store: QueueStore, queue_id: str) -> None:
    """``postsuper -H``: back to the deferred queue, due now."""
    with store.lock(queue_id, wait=BUSY_WAIT):
        found = store.find(queue_id)
        if found.queue != "hold":
            raise NoSuchMessage(f"{queue_id} is not on hold")
        store.move(queue_id, "hold", "deferred")
        set_due(store.path("deferred", queue_id), time.time())
    log.info(queue_id, "released from hold")
