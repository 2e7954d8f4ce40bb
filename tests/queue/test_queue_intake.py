"""Intake and the on-disk queue: cleanup's header rewriting, streaming in arbitrary chunks,
durability order, queue ids, envelope round trips, locks, and recovery of ``active``."""

from __future__ import annotations

import email
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import pytest_twisted
from hypothesis import given, settings
from hypothesis import strategies as st

from maa.context import ServerContext
from maa.queue.cleanup import HEADER_SIZE_LIMIT, Intake, LineNormalizer, enqueue_bytes
from maa.queue.envelope import ClientInfo, Envelope, Recipient
from maa.queue.headerchecks import HeaderChecks
from maa.queue.store import MessageBusy, QueueStore, new_queue_id

RCPT = [Recipient("bob@example.test", "bob@example.test")]


@pytest.fixture
def store(tmp_path: Path) -> QueueStore:
    return QueueStore.for_data_dir(tmp_path)


def queued_bytes(store: QueueStore, data: bytes, **kw: object) -> tuple[str, bytes]:
    result = enqueue_bytes(
        store,
        data,
        sender=str(kw.pop("sender", "alice@example.test")),
        recipients=list(kw.pop("recipients", RCPT)),  # type: ignore[call-overload]
        client=ClientInfo(helo="client.test"),
        hostname="mail.example.test",
        **kw,  # type: ignore[arg-type]
    )
    assert result.outcome == "queued"
    return result.queue_id, store.content_path(result.queue_id).read_bytes()


def test_queue_ids_look_like_postfix_ones() -> None:
    ids = {new_queue_id() for _ in range(1000)}
    assert all(re.fullmatch(r"[0-9A-F]{12}", i) for i in ids)
    assert len(ids) > 990


def test_cleanup_adds_and_removes_headers(store: QueueStore) -> None:
    qid, data = queued_bytes(
        store,
        b"To: bob@example.test\nBcc: secret@example.test\nResent-Bcc: x@y\n"
        b"Return-Path: <forged@x>\nContent-Length: 3\nSubject: s\n\nbody\n",
    )
    msg = email.message_from_bytes(data)
    for gone in ("Bcc", "Resent-Bcc", "Return-Path", "Content-Length"):
        assert msg[gone] is None
    assert msg["From"] == "alice@example.test"
    assert (
        msg["Date"] and msg["Message-ID"] == f"<{msg['Message-ID'][1:15]}.{qid}@mail.example.test>"
    )
    assert data.startswith(b"Received: from client.test (localhost [127.0.0.1])\r\n")
    assert b"\r\n\r\nbody\r\n" in data and b"\n\n" not in data.replace(b"\r\n", b"")
    assert store.load("incoming", qid).message_id == msg["Message-ID"]


def test_received_header_tags_an_ipv6_client_address(store: QueueStore) -> None:
    client = ClientInfo(host="unknown", address="2001:db8::7", helo="client.test")
    result = enqueue_bytes(
        store, b"Subject: v6\r\n\r\nx\r\n", sender="a@example.test",
        recipients=list(RCPT), client=client, hostname="mail.example.test",
    )  # fmt: skip
    data = store.content_path(result.queue_id).read_bytes()
    assert data.startswith(b"Received: from client.test (unknown [IPv6:2001:db8::7])\r\n")


def test_existing_message_id_and_date_are_kept(store: QueueStore) -> None:
    _, data = queued_bytes(
        store,
        b"From: a@b\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <x@y>\r\n\r\nb\r\n",
    )
    msg = email.message_from_bytes(data)
    assert msg.get_all("Message-ID") == ["<x@y>"]
    assert msg.get_all("Date") == ["Mon, 1 Jan 2024 00:00:00 +0000"]


def test_message_without_headers_gets_a_separator(store: QueueStore) -> None:
    _, data = queued_bytes(store, b"just a body line\nand another\n")
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep and body == b"just a body line\r\nand another\r\n"
    assert b"Message-ID:" in head


def test_oversized_header_section_passes_through(store: QueueStore) -> None:
    """Past HEADER_SIZE_LIMIT the header section is not held in memory: the rest is written
    through untouched."""
    big = b"Subject: s\r\nX-Big: " + b"a" * (3 * HEADER_SIZE_LIMIT) + b"\r\n\r\nbody\r\n"
    intake = Intake(store, sender="a@b", recipients=RCPT, client=ClientInfo(), hostname="h")
    for i in range(0, len(big), 4096):
        intake.write(big[i : i + 4096])
    result = intake.finish()
    data = store.content_path(result.queue_id).read_bytes()
    assert data.startswith(b"Received: ")
    assert data.endswith(big[big.index(b"X-Big") :])


@given(
    st.lists(st.binary(max_size=40), max_size=12),
    st.lists(st.integers(min_value=1, max_value=17), min_size=1, max_size=5),
)
def test_line_normalizer_is_chunking_independent(parts: list[bytes], cuts: list[int]) -> None:
    data = b"".join(parts)
    whole = LineNormalizer()
    expected = whole.feed(data) + whole.flush()
    chunked = LineNormalizer()
    out, i, k = b"", 0, 0
    while i < len(data):
        n = cuts[k % len(cuts)]
        out += chunked.feed(data[i : i + n])
        i, k = i + n, k + 1
    out += chunked.flush()
    assert out == expected
    assert b"\n" not in out.replace(b"\r\n", b"")
    # Only line ends change: every other byte is kept, in order.
    strip = lambda b: b.replace(b"\r", b"").replace(b"\n", b"")  # noqa: E731
    assert strip(out) == strip(data)


@settings(max_examples=25)  # each example fsyncs two queue files
@given(st.binary(max_size=600), st.integers(min_value=1, max_value=64))
def test_intake_output_does_not_depend_on_chunking(body: bytes, size: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        store = QueueStore.for_data_dir(Path(d))
        outputs = []
        for step in (len(body) + 1, size):
            intake = Intake(
                store,
                sender="a@b",
                recipients=RCPT,
                client=ClientInfo(),
                hostname="h",
                received=False,
            )
            for i in range(0, len(body), step):
                intake.write(body[i : i + step])
            result = intake.finish()
            text = store.content_path(result.queue_id).read_bytes()
            # The generated Message-ID and Date differ between runs; the rest must not.
            outputs.append(re.sub(rb"(Message-ID|Date): [^\r]*\r\n", b"", text))
        assert outputs[0] == outputs[1]


def test_envelope_round_trip(store: QueueStore) -> None:
    env = Envelope(
        queue_id="ABCDEF012345",
        sender="ä@example.test",
        recipients=(Recipient("b@x", "list@x", notify=("FAILURE",), orcpt="rfc822;list@x"),),
        arrival=1.5,
        size=10,
        client=ClientInfo("h", "192.0.2.1", "helo", "ESMTPSA", "PLAIN", "alice"),
        ret="HDRS",
        envid="e1",
    )
    assert Envelope.from_json(env.to_json()) == env


def test_abort_leaves_nothing(store: QueueStore) -> None:
    intake = Intake(store, sender="a@b", recipients=RCPT, client=ClientInfo(), hostname="h")
    intake.write(b"Subject: x\r\n\r\npartial")
    intake.abort()
    assert list(store.data_dir.iterdir()) == [] and store.ids("incoming") == []


def test_header_checks_discard_and_hold(store: QueueStore) -> None:
    checks = HeaderChecks.parse("/^X-Drop:/ DISCARD\n/^X-Hold:/ HOLD\n/^X-Strip:/ IGNORE\n")
    result = enqueue_bytes(
        store,
        b"X-Drop: 1\r\n\r\nx\r\n",
        sender="a@b",
        recipients=RCPT,
        client=ClientInfo(),
        hostname="h",
        header_checks=checks,
    )
    assert result.outcome == "discarded" and list(store.data_dir.iterdir()) == []
    result = enqueue_bytes(
        store,
        b"X-Hold: 1\r\nX-Strip: 2\r\n\r\nx\r\n",
        sender="a@b",
        recipients=RCPT,
        client=ClientInfo(),
        hostname="h",
        header_checks=checks,
    )
    assert result.queue == "hold" and store.ids("hold") == [result.queue_id]
    assert b"X-Strip" not in store.content_path(result.queue_id).read_bytes()


def test_delivery_lock_is_exclusive_across_opens(store: QueueStore) -> None:
    qid, _ = queued_bytes(store, b"x\r\n")
    with store.lock(qid), pytest.raises(MessageBusy):
        store.lock(qid)
    store.lock(qid).release()


def test_orphan_content_is_removed_after_a_day(store: QueueStore) -> None:
    qid, _ = queued_bytes(store, b"x\r\n")
    orphan = store.data_dir / "0000000000AA"
    orphan.write_bytes(b"half")
    assert store.remove_orphans() == []
    import time

    assert store.remove_orphans(now=time.time() + 2 * 86400) == ["0000000000AA"]
    assert store.content_path(qid).exists()


@pytest_twisted.inlineCallbacks
def test_service_recovers_active_without_resending(
    make_ctx: Callable[..., ServerContext], maillog
) -> None:
    """A crash left a message in active/ with one recipient already delivered: on start the
    queue manager finishes the other one only."""
    from twisted.internet import reactor, task

    from maa.queue.service import build_service

    ctx = make_ctx()
    store = QueueStore.for_data_dir(ctx.config.data_dir)
    rcpts = [
        Recipient("alice@example.test", "alice@example.test", status="sent", reason="done"),
        Recipient("bob@example.test", "bob@example.test"),
    ]
    qid, _ = queued_bytes(store, b"Subject: recovered\r\n\r\nx\r\n", recipients=rcpts)
    store.move(qid, "incoming", "active")
    service = build_service(ctx)
    service.startService()
    try:
        for _ in range(200):
            if not store.ids("active"):
                break
            yield task.deferLater(reactor, 0.05, lambda: None)
    finally:
        yield service.stopService()

    def inbox(login: str) -> int:
        user = ctx.userdb.lookup(login)
        return len(ctx.stores.open(user).folder("INBOX").messages())

    assert inbox("bob@example.test") == 1 and inbox("alice@example.test") == 0
    assert "recovering 1 message(s) left in the active queue" in maillog.text
    assert f"{qid}: removed" in maillog.text


addresses = st.text(min_size=0, max_size=30)
recipients = st.builds(
    Recipient,
    address=addresses,
    original=addresses,
    status=st.sampled_from(["pending", "deferred", "sent", "bounced"]),
    reason=st.text(max_size=40),
    notify=st.lists(st.sampled_from(["SUCCESS", "FAILURE", "DELAY"]), max_size=3).map(tuple),
    orcpt=st.none() | addresses,
    notified=st.booleans(),
)


@given(
    st.builds(
        Envelope,
        queue_id=st.just("0123456789AB"),
        sender=addresses,
        recipients=st.lists(recipients, max_size=4).map(tuple),
        arrival=st.floats(min_value=0, max_value=4e9),
        size=st.integers(min_value=0, max_value=2**40),
        attempts=st.integers(min_value=0, max_value=100),
        ret=st.none() | st.sampled_from(["FULL", "HDRS"]),
        envid=st.none() | st.text(max_size=20),
    )
)
def test_envelope_json_round_trip_property(env: Envelope) -> None:
    assert Envelope.from_json(env.to_json()) == env


def test_unreadable_envelope_is_put_aside(make_ctx: Callable[..., ServerContext], maillog) -> None:
    from maa.queue.delivery import Deliverer
    from maa.queue.local import lda_delivery
    from maa.queue.routing import Router

    ctx = make_ctx()
    store = QueueStore.for_data_dir(ctx.config.data_dir)
    qid, _ = queued_bytes(store, b"x\r\n")
    store.path("incoming", qid).write_text("{not json")
    deliverer = Deliverer(ctx.config, store, Router(ctx.config, ctx.userdb), lda_delivery(ctx))
    assert deliverer.run(qid, "incoming") == "gone"
    assert (store.root / "corrupt" / qid).exists() and store.content_path(qid).exists()
    assert store.ids("incoming") == [] and store.ids("active") == []
    assert "unreadable envelope" in maillog.text
