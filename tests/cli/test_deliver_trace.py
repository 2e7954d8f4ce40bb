"""``maa deliver`` adds Return-Path and Delivered-To only when the MTA that ran it did not:
Postfix's local(8) prepends its own before it runs ``mailbox_command``."""

from __future__ import annotations

from test_deliver import run_deliver, stored

from maa.config import Config

BODY = b"From: s@example.test\nSubject: trace\n\nbody\n"
POSTFIX_LOCAL = (
    b"From s@example.test  Thu Dec  3 10:00:00 2026\n"
    b"Return-Path: <s@example.test>\n"
    b"X-Original-To: alice+x@example.test\n"
    b"Delivered-To: alice+x@example.test\n" + BODY
)


def test_trace_headers_postfix_local_added_are_not_doubled(maa_config: Config) -> None:
    args = ("-d", "alice@example.test", "-a", "alice+x@example.test", "-f", "s@example.test")
    result = run_deliver(maa_config, *args, stdin=POSTFIX_LOCAL)
    assert result.returncode == 0, result.stderr
    (message,) = stored(maa_config, "alice@example.test")
    assert message == POSTFIX_LOCAL.split(b"\n", 1)[1].replace(b"\n", b"\r\n")


def test_trace_headers_are_added_when_the_message_has_none(maa_config: Config) -> None:
    result = run_deliver(maa_config, "-d", "bob@example.test", "-f", "s@example.test", stdin=BODY)
    assert result.returncode == 0, result.stderr
    (message,) = stored(maa_config, "bob@example.test")
    assert message == (
        b"Return-Path: <s@example.test>\r\nDelivered-To: bob@example.test\r\n"
        + BODY.replace(b"\n", b"\r\n")
    )
