"""The front's decisions without sockets, for peers a loopback test cannot be: AUTH refused
before TLS off loopback, relaying only for mynetworks, RCPT and MAIL rules."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from maa.context import ServerContext
from maa.proto import smtp
from maa.queue.routing import Router
from maa.submission.policy import (
    Policy,
    engine_settings,
    in_networks,
    parse_networks,
    plaintext_auth_allowed,
)


def transcript(engine: smtp.SmtpEngine, line: bytes) -> bytes:
    engine.receive_data(line)
    while engine.next_event() is not None:
        pass
    return engine.data_to_send()


def test_auth_refused_before_tls_off_loopback(ctx: ServerContext) -> None:
    config = ctx.config
    assert config.auth.disable_plaintext_auth
    assert not plaintext_auth_allowed(config, peer_is_loopback=False)
    engine = smtp.SmtpEngine(engine_settings(config, implicit_tls=False, peer_is_loopback=False))
    engine.data_to_send()
    ehlo = transcript(engine, b"EHLO client.test\r\n")
    assert b"STARTTLS" in ehlo and b"AUTH" not in ehlo
    reply = transcript(engine, b"AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=\r\n")
    assert reply.startswith(b"538 5.7.11")


def test_auth_offered_after_tls_off_loopback(ctx: ServerContext) -> None:
    engine = smtp.SmtpEngine(engine_settings(ctx.config, implicit_tls=True, peer_is_loopback=False))
    engine.data_to_send()
    ehlo = transcript(engine, b"EHLO client.test\r\n")
    assert b"AUTH PLAIN LOGIN" in ehlo and b"STARTTLS" not in ehlo


def test_mynetworks_default_is_loopback_only(ctx: ServerContext) -> None:
    nets = parse_networks(ctx.config.smtp.mynetworks)
    assert in_networks("127.0.0.1", nets) and in_networks("127.9.9.9", nets)
    assert in_networks("::1", nets) and in_networks("::ffff:127.0.0.1", nets)
    for outsider in ("192.0.2.7", "10.0.0.1", "2001:db8::1", "not an address"):
        assert not in_networks(outsider, nets)
    lan = parse_networks(["192.168.96.0/19"])
    assert in_networks("192.168.100.1", lan) and not in_networks("192.168.128.1", lan)


@given(st.ip_addresses())
def test_in_networks_agrees_with_ipaddress(address: object) -> None:
    import ipaddress

    nets = parse_networks(["10.0.0.0/8", "fd00::/8"])
    expected = any(
        address.version == n.version and address in n  # type: ignore[attr-defined, operator]
        for n in (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8"))
    )
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        expected = mapped in ipaddress.ip_network("10.0.0.0/8")
    assert in_networks(str(address), nets) == expected


def test_port_25_from_outside_never_relays(ctx: ServerContext) -> None:
    policy = Policy("mx", ctx.config, Router(ctx.config, ctx.userdb), trusted_network=False)
    reply, rcpts = policy.rcpt_to("victim@remote.test", None)
    assert (reply.code, reply.status) == (554, "5.7.1") and rcpts == []
    assert "Relay access denied" in reply.lines[0]
    reply, rcpts = policy.rcpt_to("bob@example.test", None)
    assert reply.code == 250 and [r.address for r in rcpts] == ["bob@example.test"]
    reply, _ = policy.rcpt_to("ghost@example.test", None)
    assert (reply.code, reply.status) == (550, "5.1.1")
    assert policy.mail_from("anyone@elsewhere.test", None).code == 250


def test_port_25_relays_for_mynetworks_and_authenticated(ctx: ServerContext) -> None:
    router = Router(ctx.config, ctx.userdb)
    trusted = Policy("mx", ctx.config, router, trusted_network=True)
    assert trusted.rcpt_to("x@remote.test", None)[0].code == 250
    outsider = Policy("mx", ctx.config, router, trusted_network=False)
    alice = ctx.userdb.lookup("alice@example.test")
    assert outsider.rcpt_to("x@remote.test", alice)[0].code == 250


def test_submission_requires_auth_and_owned_sender(ctx: ServerContext) -> None:
    policy = Policy("submission", ctx.config, Router(ctx.config, ctx.userdb))
    assert (policy.mail_from("alice@example.test", None).code) == 530
    alice = ctx.userdb.lookup("alice@example.test")
    assert alice is not None
    assert policy.mail_from("alice@example.test", alice).code == 250
    assert policy.mail_from("ALICE@example.test", alice).code == 250
    assert policy.mail_from("", alice).code == 250  # null sender (e.g. a client's own DSN)
    refused = policy.mail_from("bob@example.test", alice)
    assert (refused.code, refused.status) == (553, "5.7.1")


def test_unknown_local_user_refused_in_submission_too(
    make_ctx: Callable[..., ServerContext],
) -> None:
    ctx = make_ctx(
        files={"aliases": "team@example.test alice@example.test\n"},
        submission={"aliases": "aliases"},
    )
    policy = Policy("submission", ctx.config, Router(ctx.config, ctx.userdb))
    alice = ctx.userdb.lookup("alice@example.test")
    assert policy.rcpt_to("ghost@example.test", alice)[0].code == 550
    reply, rcpts = policy.rcpt_to("team@example.test", alice)
    assert reply.code == 250
    assert [(r.address, r.original) for r in rcpts] == [("alice@example.test", "team@example.test")]
