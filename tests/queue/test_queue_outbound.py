"""The outbound client's AUTH rule off loopback, against a real SMTP server. The server can
only be on loopback here, where AUTH without TLS is allowed, so the transaction is driven with
``loopback=False`` as it is for any other address."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest
from smtp_sink_support import Sink

from maa.queue.outbound import Message, SmtpClient, _TryNextHost


def test_relay_password_is_not_sent_without_tls_and_the_message_waits(tmp_path: Path) -> None:
    """The relay offers AUTH but no STARTTLS: skipping AUTH would have it refuse the message
    for good (a bounce); the password must not go in the clear either; so the message is
    deferred with the reason, as Postfix does with smtp_sasl_security_options = noplaintext."""
    content = tmp_path / "message"
    content.write_bytes(b"Subject: x\r\n\r\nbody\r\n")
    message = Message("alice@example.test", ("x@remote.test",), content, content.stat().st_size)
    with Sink(credentials=("relayuser", "relaypass")) as sink:
        smtp = smtplib.SMTP("127.0.0.1", sink.port, timeout=10)
        try:
            with pytest.raises(_TryNextHost, match="SASL authentication to relay not attempted"):
                SmtpClient("mail.example.test")._transaction(
                    smtp, "relay", message, ("relayuser", "relaypass"), loopback=False
                )
        finally:
            smtp.close()
    assert sink.messages == []
