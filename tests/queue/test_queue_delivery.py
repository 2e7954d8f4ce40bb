"""Delivering queued messages: locally through lda, to a real SMTP server on loopback via
relayhost and via a transport map, deferral and retry, bounces (RFC 3464) and their limits."""

from __future__ import annotations

import email
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dns_zone_support import Zone
from smtp_sink_support import Sink, free_port

from maa.context import ServerContext
from maa.queue.cleanup import enqueue_bytes
from maa.queue.delivery import Deliverer
from maa.queue.envelope import ClientInfo, Recipient
from maa.queue.local import lda_delivery
from maa.queue.routing import Router
from maa.queue.store import QueueStore

BODY = (
    b"From: alice@example.test\r\nTo: someone\r\nSubject: hello\r\n\r\nHi there.\r\n.dot line\r\n"
)


class Queue:
    def __init__(self, ctx: ServerContext, resolver: Any = None) -> None:
        self.ctx = ctx
        self.store = QueueStore.for_data_dir(ctx.config.data_dir)
        self.router = Router(ctx.config, ctx.userdb)
        self.deliverer = Deliverer(
            ctx.config, self.store, self.router, lda_delivery(ctx), resolver=resolver
        )

    def submit(self, sender: str, recipients: list[str], body: bytes = BODY) -> str:
        result = enqueue_bytes(
            self.store,
            body,
            sender=sender,
            recipients=self.router.envelope_recipients(recipients),
            client=ClientInfo(helo="client.test"),
            hostname=self.ctx.config.server.hostname,
        )
        assert result.outcome == "queued"
        return result.queue_id

    def run_incoming(self) -> list[str]:
        """Deliver everything in incoming (bounces included) once; the outcomes."""
        outcomes = []
        while ids := self.store.ids("incoming"):
            outcomes += [self.deliverer.run(qid, "incoming") for qid in ids]
        return outcomes

    def inbox(self, login: str) -> list[email.message.Message]:
        user = self.ctx.userdb.lookup(login)
        assert user is not None
        folder = self.ctx.stores.open(user).folder("INBOX")
        return [email.message_from_bytes(folder.read(m.uid)) for m in folder.messages()]


@pytest.fixture
def queue(make_ctx: Callable[..., ServerContext]) -> Callable[..., Queue]:
    return lambda resolver=None, **kw: Queue(make_ctx(**kw), resolver)


def test_local_delivery_to_a_hosted_user(queue: Callable[..., Queue], maillog) -> None:
    q = queue()
    qid = q.submit("carol", ["bob@example.test"])
    assert q.run_incoming() == ["removed"]
    [msg] = q.inbox("bob@example.test")
    assert msg["Subject"] == "hello"
    assert msg["Return-Path"] == "<carol>"
    assert qid in msg["Received"]
    assert msg["Message-ID"] and msg["Date"]
    assert not any(q.store.ids(name) for name in ("incoming", "active", "deferred"))
    assert not list(q.store.data_dir.iterdir())
    text = maillog.text
    assert f"{qid}: to=<bob@example.test>, relay=local" in text
    assert "status=sent (delivered to INBOX)" in text
    assert f"{qid}: removed" in text


def test_alias_expands_to_two_users(queue: Callable[..., Queue], maillog) -> None:
    aliases = "team@example.test  alice@example.test, bob@example.test\nadmins: team\n"
    q = queue(files={"aliases": aliases}, submission={"aliases": "aliases"})
    qid = q.submit("carol", ["admins@example.test"])
    q.run_incoming()
    assert [m["Subject"] for m in q.inbox("alice@example.test")] == ["hello"]
    assert [m["Subject"] for m in q.inbox("bob@example.test")] == ["hello"]
    assert f"{qid}: to=<alice@example.test>, orig_to=<admins@example.test>" in maillog.text


def test_relay_through_relayhost(queue: Callable[..., Queue], maillog) -> None:
    with Sink() as sink:
        q = queue(submission={"relayhost": f"[127.0.0.1]:{sink.port}"})
        qid = q.submit("alice@example.test", ["x@remote.test", "y@remote.test"])
        assert q.run_incoming() == ["removed"]
    [got] = sink.messages
    assert got.sender == "alice@example.test"
    assert got.recipients == ["x@remote.test", "y@remote.test"]
    parsed = email.message_from_bytes(got.content)
    assert parsed["Subject"] == "hello"
    assert b"\r\n..dot line\r\n" not in got.content and b"\r\n.dot line\r\n" in got.content
    assert f"{qid}: to=<x@remote.test>, relay=127.0.0.1[127.0.0.1]:{sink.port}" in maillog.text
    assert "status=sent (250 2.0.0 Ok: queued as SINK1)" in maillog.text


def test_relay_through_transport_map(queue: Callable[..., Queue]) -> None:
    with Sink() as near, Sink() as far:
        transport = f"neighbour.test  smtp:[127.0.0.1]:{near.port}\n"
        q = queue(
            files={"transport": transport},
            submission={"transport_maps": "transport", "relayhost": f"[127.0.0.1]:{far.port}"},
        )
        q.submit("alice@example.test", ["n@neighbour.test", "o@other.test"])
        assert q.run_incoming() == ["removed"]
    assert [m.recipients for m in near.messages] == [["n@neighbour.test"]]
    assert [m.recipients for m in far.messages] == [["o@other.test"]]


def test_relay_with_starttls_and_auth(queue: Callable[..., Queue], tmp_path: Path) -> None:
    q0 = queue()
    cert, key = Path(q0.ctx.config.tls.cert), Path(q0.ctx.config.tls.key)
    with Sink(tls=(cert, key), credentials=("relayuser", "relaypass")) as sink:
        q = queue(
            submission={
                "relayhost": f"[127.0.0.1]:{sink.port}",
                "relayhost_user": "relayuser",
                "relayhost_password": "relaypass",
            }
        )
        q.submit("alice@example.test", ["x@remote.test"])
        assert q.run_incoming() == ["removed"]
    [got] = sink.messages
    assert got.tls and got.auth_user == "relayuser"


def test_relay_down_defers_then_delivers_when_up(queue: Callable[..., Queue], maillog) -> None:
    port = free_port()
    q = queue(submission={"relayhost": f"[127.0.0.1]:{port}"})
    qid = q.submit("alice@example.test", ["x@remote.test"])
    assert q.run_incoming() == ["deferred"]
    assert q.store.ids("deferred") == [qid]
    env = q.store.load("deferred", qid)
    assert env.attempts == 1 and env.recipients[0].status == "deferred"
    assert "Connection refused" in env.recipients[0].reason
    due = os.stat(q.store.path("deferred", qid)).st_mtime
    assert due - time.time() > 30  # min_backoff 60 s in these tests
    assert "status=deferred" in maillog.text
    with Sink(port) as sink:
        assert q.deliverer.run(qid, "deferred") == "removed"
    assert [m.recipients for m in sink.messages] == [["x@remote.test"]]


def test_backoff_doubles_up_to_the_maximum(make_ctx: Callable[..., ServerContext]) -> None:
    from maa.queue.delivery import backoff

    config = make_ctx().config  # min 60, max 240
    assert [backoff(config, n) for n in (1, 2, 3, 4, 5)] == [60, 120, 240, 240, 240]


def test_permanent_failure_bounces_to_the_local_sender(queue: Callable[..., Queue]) -> None:
    with Sink() as sink:
        sink.handler.refuse["nobody@remote.test"] = "550 5.1.1 <nobody@remote.test>: no such user"
        q = queue(submission={"relayhost": f"[127.0.0.1]:{sink.port}"})
        qid = q.submit("alice@example.test", ["nobody@remote.test", "ok@remote.test"])
        q.run_incoming()
    assert [m.recipients for m in sink.messages] == [["ok@remote.test"]]
    [dsn] = q.inbox("alice@example.test")
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    assert dsn["Return-Path"] == "<>"
    notice, status, original = dsn.get_payload()
    assert "nobody@remote.test" in notice.get_payload()
    fields = status.get_payload()
    report = "\n".join(str(part) for part in fields)
    assert "Final-Recipient: rfc822; nobody@remote.test" in report
    assert "Status: 5.1.1" in report
    assert "Action: failed" in report
    assert f"X-Maa-Queue-ID: {qid}" in report
    assert "ok@remote.test" not in report
    assert original.get_content_type() == "message/rfc822"


def test_no_bounce_for_a_null_sender(queue: Callable[..., Queue], maillog) -> None:
    with Sink() as sink:
        sink.handler.refuse["nobody@remote.test"] = "550 5.1.1 no such user"
        q = queue(submission={"relayhost": f"[127.0.0.1]:{sink.port}"})
        q.submit("", ["nobody@remote.test"])
        assert q.run_incoming() == ["removed"]
    assert q.inbox("alice@example.test") == []
    assert "non-delivery notification" not in maillog.text


def test_expired_message_bounces(queue: Callable[..., Queue], maillog) -> None:
    q = queue(submission={"relayhost": f"[127.0.0.1]:{free_port()}"}, queue={"lifetime": 0.0})
    qid = q.submit("alice@example.test", ["x@remote.test"])
    assert q.run_incoming() == ["removed", "removed"]  # the message, then its bounce
    [dsn] = q.inbox("alice@example.test")
    assert "expired" in dsn.get_payload()[0].get_payload()
    assert "Action: failed" in str(dsn.get_payload()[1])
    assert f"{qid}: from=<alice@example.test>, status=expired, returned to sender" in maillog.text


def test_unknown_user_behind_an_alias_bounces(queue: Callable[..., Queue]) -> None:
    q = queue(
        files={"aliases": "info@example.test ghost@example.test\n"},
        submission={"aliases": "aliases"},
    )
    q.submit("alice@example.test", ["info@example.test"])
    q.run_incoming()
    [dsn] = q.inbox("alice@example.test")
    assert "Status: 5.1.1" in str(dsn.get_payload()[1])


def test_a_recipient_acknowledged_is_not_sent_again(queue: Callable[..., Queue]) -> None:
    """One recipient sent, one deferred: the retry goes only to the deferred one."""
    with Sink() as sink:
        sink.handler.refuse["later@remote.test"] = "451 4.3.0 try again later"
        q = queue(submission={"relayhost": f"[127.0.0.1]:{sink.port}"})
        qid = q.submit("alice@example.test", ["now@remote.test", "later@remote.test"])
        assert q.run_incoming() == ["deferred"]
        del sink.handler.refuse["later@remote.test"]
        assert q.deliverer.run(qid, "deferred") == "removed"
    assert [m.recipients for m in sink.messages] == [["now@remote.test"], ["later@remote.test"]]


def test_transport_error_route_bounces(queue: Callable[..., Queue]) -> None:
    q = queue(
        files={"transport": "gone.test  error:5.1.2 this domain is gone\n"},
        submission={"transport_maps": "transport"},
    )
    q.submit("alice@example.test", ["x@gone.test"])
    q.run_incoming()
    [dsn] = q.inbox("alice@example.test")
    assert "this domain is gone" in dsn.get_payload()[0].get_payload()


def test_credentials_file_for_a_transport_route(queue: Callable[..., Queue]) -> None:
    with Sink(credentials=("neighbour", "pw")) as sink:
        q = queue(
            files={
                "transport": f"neighbour.test  smtp:[127.0.0.1]:{sink.port}\n",
                "sasl_passwd": f"# next hop  user:password\n[127.0.0.1]:{sink.port} neighbour:pw\n",
            },
            submission={"transport_maps": "transport", "relayhost_credentials": "sasl_passwd"},
        )
        q.submit("alice@example.test", ["n@neighbour.test"])
        assert q.run_incoming() == ["removed"]
    assert [m.auth_user for m in sink.messages] == ["neighbour"]


def test_relayhost_password_is_not_offered_to_other_next_hops(
    queue: Callable[..., Queue],
) -> None:
    """The relay account's password goes to the relayhost only, never to a host that a
    transport route (or an MX record) points at."""
    with Sink(credentials=("relayuser", "relaypass")) as other:
        q = queue(
            files={"transport": f"other.test  smtp:[127.0.0.1]:{other.port}\n"},
            submission={
                "transport_maps": "transport",
                "relayhost": f"[127.0.0.1]:{free_port()}",
                "relayhost_user": "relayuser",
                "relayhost_password": "relaypass",
            },
        )
        q.submit("alice@example.test", ["x@other.test"])
        assert q.run_incoming() == ["removed"]
    assert [m.auth_user for m in other.messages] == [None]


def test_mx_records_in_preference_order(queue: Callable[..., Queue], maillog) -> None:
    """No relayhost: the recipient domain's MX records, best first, their addresses from DNS
    too; a dead MX (nothing listens on 127.0.0.2) is skipped. The port comes from a transport
    route "smtp:domain:port" (MX lookup with a port)."""
    with Sink() as sink:
        records = {
            ("mx.test.", "MX"): ["20 mail.mx.test.", "10 dead.mx.test."],
            ("dead.mx.test.", "A"): ["127.0.0.2"],
            ("mail.mx.test.", "A"): ["127.0.0.1"],
        }
        with Zone(records) as zone:
            q = queue(
                resolver=zone.resolver(),
                files={"transport": f"mx.test  smtp:mx.test:{sink.port}\n"},
                submission={"transport_maps": "transport"},
            )
            qid = q.submit("alice@example.test", ["x@mx.test"])
            assert q.run_incoming() == ["removed"]
    assert [m.recipients for m in sink.messages] == [["x@mx.test"]]
    assert f"{qid}: to=<x@mx.test>, relay=mail.mx.test[127.0.0.1]:{sink.port}" in maillog.text


def test_nxdomain_bounces_and_null_mx_bounces(queue: Callable[..., Queue]) -> None:
    records = {("nullmx.test.", "MX"): ["0 ."]}
    with Zone(records) as zone:
        q = queue(resolver=zone.resolver())
        q.submit("alice@example.test", ["a@nowhere.test", "b@nullmx.test"])
        q.run_incoming()
    reports = [str(m.get_payload()[1]) for m in q.inbox("alice@example.test")]
    text = "\n".join(reports)
    assert "Final-Recipient: rfc822; a@nowhere.test" in text
    assert "Final-Recipient: rfc822; b@nullmx.test" in text
    assert "Status: 5.4.4" in text


def test_notify_never_suppresses_the_bounce(queue: Callable[..., Queue]) -> None:
    with Sink() as sink:
        sink.handler.refuse["nobody@remote.test"] = "550 5.1.1 no such user"
        q = queue(submission={"relayhost": f"[127.0.0.1]:{sink.port}"})
        result = enqueue_bytes(
            q.store,
            BODY,
            sender="alice@example.test",
            recipients=[Recipient("nobody@remote.test", "nobody@remote.test", notify=("NEVER",))],
            client=ClientInfo(),
            hostname="mail.example.test",
        )
        assert q.deliverer.run(result.queue_id, "incoming") == "removed"
    assert q.store.ids("incoming") == [] and q.inbox("alice@example.test") == []


def test_non_ascii_address_to_a_next_hop_without_smtputf8_bounces(
    queue: Callable[..., Queue], maillog
) -> None:
    """RFC 6531 3.4: the address cannot be sent there, so it bounces now (5.6.7) instead of
    being retried for the queue's whole lifetime."""
    with Sink(smtputf8=False) as sink:
        q = queue(submission={"relayhost": f"[127.0.0.1]:{sink.port}"})
        qid = q.submit("alice@example.test", ["josé@remote.test"])
        assert q.run_incoming() == ["removed", "removed"]  # the message, then its bounce
    assert sink.messages == []
    [dsn] = q.inbox("alice@example.test")
    report = str(dsn.get_payload()[1])
    assert "Action: failed" in report and "Status: 5.6.7" in report
    assert f"{qid}: to=<josé@remote.test>, relay=127.0.0.1[127.0.0.1]:{sink.port}" in maillog.text
    assert "status=bounced (SMTPUTF8 is required, but was not offered by host" in maillog.text


def test_failed_starttls_handshake_is_retried_in_plaintext(
    queue: Callable[..., Queue], maillog
) -> None:
    """smtp_tls_security_level = may: the next hop offers STARTTLS but shares no cipher with
    the client, so the handshake fails; the message goes in plaintext instead of waiting
    for days."""
    import ssl

    def no_shared_cipher(context: ssl.SSLContext) -> None:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers("PSK")  # and no PSK identities: nothing the client can use

    q0 = queue()
    cert, key = Path(q0.ctx.config.tls.cert), Path(q0.ctx.config.tls.key)
    with Sink(tls=(cert, key), tls_setup=no_shared_cipher) as sink:
        q = queue(submission={"relayhost": f"[127.0.0.1]:{sink.port}"})
        qid = q.submit("alice@example.test", ["x@remote.test"])
        assert q.run_incoming() == ["removed"]
    [got] = sink.messages
    assert not got.tls and got.recipients == ["x@remote.test"]
    assert f"TLS handshake with 127.0.0.1[127.0.0.1]:{sink.port} failed" in maillog.text
    assert f"{qid}: to=<x@remote.test>" in maillog.text and "status=sent" in maillog.text
