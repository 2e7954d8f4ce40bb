"""``maa serve`` end to end: IMAP on its plain and implicit-TLS ports, mail delivered by LMTP
into the Maildir, log lines in the server's log."""

from __future__ import annotations

import imaplib
import smtplib

from clients import ALICE, MESSAGE, ok
from support import PASSWORD, RunningServer, client_ssl_context


def test_imap_over_the_service_tree(maa_server: RunningServer) -> None:
    with smtplib.LMTP("127.0.0.1", maa_server.ports["lmtp"]) as lmtp:
        lmtp.sendmail("bob@example.test", [ALICE], MESSAGE)
    m = imaplib.IMAP4_SSL(
        "127.0.0.1", maa_server.ports["imaps"], ssl_context=client_ssl_context(), timeout=10
    )
    ok(m.login(ALICE, PASSWORD))
    assert ok(m.select("INBOX")) == [b"1"]
    data = ok(m.fetch("1", "BODY.PEEK[HEADER.FIELDS (Message-ID)]"))
    assert data[0][1] == b"Message-ID: <1@example.test>\r\n\r\n"  # type: ignore[index]
    m.logout()
    plain = imaplib.IMAP4("127.0.0.1", maa_server.ports["imap"], timeout=10)
    ok(plain.starttls(client_ssl_context()))
    ok(plain.login(ALICE, PASSWORD))
    assert ok(plain.status("INBOX", "(MESSAGES)")) == [b"INBOX (MESSAGES 1)"]
    plain.logout()
    assert (maa_server.maildir("alice") / "cur").is_dir()
    log = maa_server.log_text()
    assert f"Login: user=<{ALICE}>, method=LOGIN" in log
    assert "TLS, session=<" in log
    assert "Logged out in=" in log
