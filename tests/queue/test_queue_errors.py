"""What the queue does when something is wrong on this host: an alias table whose expansion
goes past the limits (in ``maa sendmail`` and for a bounce's recipient; at RCPT see
test_submission_listeners.py), and a delivery that fails with an error instead of an
outcome."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest_twisted
from smtp_sink_support import Sink
from test_queue_delivery import Queue, queue

from maa.context import ServerContext
from maa.queue.aliases import RECURSION_LIMIT
from maa.queue.cleanup import enqueue_bytes
from maa.queue.envelope import ClientInfo, Recipient
from maa.queue.store import QueueStore

__all__ = ["queue"]

# deep0@ → deep1@ → … one level past the recursion limit, ending at bob.
DEEP = "".join(
    f"deep{i}@example.test  deep{i + 1}@example.test\n" for i in range(RECURSION_LIMIT + 1)
)
DEEP += f"deep{RECURSION_LIMIT + 1}@example.test  bob@example.test\n"
DEEP_ALIASES = {"files": {"aliases": DEEP}, "submission": {"aliases": "aliases"}}


def test_sendmail_to_an_alias_past_the_limit_is_a_temporary_failure(
    make_ctx: Callable[..., ServerContext],
) -> None:
    ctx = make_ctx(**DEEP_ALIASES)
    done = subprocess.run(
        [sys.executable, "-m", "maa", "sendmail", "-c", str(ctx.config.path), "deep0@example.test"],
        input=b"Subject: deep\n\nx\n",
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 75  # EX_TEMPFAIL: the caller keeps the message
    assert b"alias recursion limit exceeded" in done.stderr
    assert b"Traceback" not in done.stderr


def test_bounce_to_a_sender_past_the_alias_limit_is_dropped_with_a_log_line(
    queue: Callable[..., Queue], maillog
) -> None:
    """The failed message is still removed (no retry can address that bounce)."""
    with Sink() as sink:
        sink.handler.refuse["nobody@remote.test"] = "550 5.1.1 no such user"
        q = queue(
            submission={"relayhost": f"[127.0.0.1]:{sink.port}", "aliases": "aliases"},
            files={"aliases": DEEP},
        )
        qid = q.submit("deep0@example.test", ["nobody@remote.test"])
        assert q.run_incoming() == ["removed"]
    assert q.inbox("bob@example.test") == []
    assert f"{qid}: error: no non-delivery notification to <deep0@example.test>" in maillog.text
    assert f"{qid}: removed" in maillog.text


@pytest_twisted.inlineCallbacks
def test_delivery_error_defers_the_message_instead_of_leaving_it_active(
    make_ctx: Callable[..., ServerContext], maillog
) -> None:
    """Recording the first recipient's delivery fails (queue/tmp is gone): the run ends in an
    error; the queue manager puts the message in deferred/, where it is retried, rather than
    leaving it in active/ until the next restart."""
    from twisted.internet import reactor, task

    from maa.queue.admin import release
    from maa.queue.service import build_service

    ctx = make_ctx()
    store = QueueStore.for_data_dir(ctx.config.data_dir)
    rcpts = [Recipient(a, a) for a in ("alice@example.test", "bob@example.test")]
    qid = enqueue_bytes(
        store,
        b"Subject: error\r\n\r\nx\r\n",
        sender="carol",
        recipients=rcpts,
        client=ClientInfo(),
        hostname="mail.example.test",
    ).queue_id
    store.move(qid, "incoming", "hold")
    service: Any = build_service(ctx)
    service.startService()
    try:
        store.tmp_dir.rmdir()
        release(store, qid)
        service.scan()
        for _ in range(200):
            if "deferred after a delivery error" in maillog.text:
                break
            yield task.deferLater(reactor, 0.05, lambda: None)
    finally:
        yield service.stopService()
    assert store.ids("active") == [] and store.ids("deferred") == [qid]
    assert f"{qid}: warning: deferred after a delivery error, next try in 60 s" in maillog.text
    store.ensure()
    assert service.deliverer.run(qid, "deferred") == "removed"
