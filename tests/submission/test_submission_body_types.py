"""BODY types on the SMTP front: BINARYMIME is neither offered nor accepted, since local
delivery keeps LF line ends and binary content would not come back as sent (Postfix's smtpd
does not offer it either); 8BITMIME and BDAT still carry the message as sent."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from typing import Any

import pytest_twisted
from front_support import Front
from support import client_ssl_context

PASSWORD = "secret"


def threaded(fn: Callable[[], Any]) -> Any:
    from twisted.internet import threads

    return threads.deferToThread(fn)


@pytest_twisted.inlineCallbacks
def test_binarymime_on_submission_is_refused_at_mail(front: Callable[..., Front]) -> None:
    f = front()

    def client() -> Any:
        with smtplib.SMTP("127.0.0.1", f.submission, timeout=10) as s:
            s.starttls(context=client_ssl_context())
            s.ehlo("client.test")
            offered = dict(s.esmtp_features)
            s.login("alice@example.test", PASSWORD)
            refused = s.mail("alice@example.test", ["BODY=BINARYMIME"])
            # The transaction did not start: RCPT is out of sequence, a new MAIL works.
            rcpt = s.rcpt("bob@example.test")
            accepted = s.mail("alice@example.test", ["BODY=8BITMIME"])
            return offered, refused, rcpt[0], accepted[0]

    offered, refused, rcpt, accepted = yield threaded(client)
    assert "binarymime" not in offered and "8bitmime" in offered and "chunking" in offered
    assert refused == (555, b"5.5.4 Unsupported BODY type BINARYMIME")
    assert rcpt == 503
    assert accepted == 250


@pytest_twisted.inlineCallbacks
def test_eight_bit_body_by_bdat_arrives_as_sent(front: Callable[..., Front]) -> None:
    f = front()
    body = "Subject: grüße\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nÄpfel\r\n"

    def client() -> Any:
        with smtplib.SMTP("127.0.0.1", f.submission, timeout=10) as s:
            s.starttls(context=client_ssl_context())
            s.ehlo("client.test")
            s.login("alice@example.test", PASSWORD)
            s.mail("alice@example.test", ["BODY=8BITMIME"])
            s.rcpt("bob@example.test")
            data = body.encode("utf-8")
            s.send(b"BDAT %d LAST\r\n" % len(data) + data)
            return s.getreply()

    code, text = yield threaded(client)
    assert code == 250 and b"queued as" in text
    yield f.wait_inbox("bob@example.test")
    user = f.ctx.userdb.lookup("bob@example.test")
    assert user is not None
    folder = f.ctx.stores.open(user).folder("INBOX")
    raw = folder.read(folder.messages()[0].uid)
    assert "\r\n\r\nÄpfel\r\n".encode() in raw


@pytest_twisted.inlineCallbacks
def test_message_over_the_size_limit_gets_552_and_a_log_line(
    front: Callable[..., Front], maillog
) -> None:
    f = front(mail={"max_message_size": 2000})
    big = "Subject: big\r\n\r\n" + ("y" * 78 + "\r\n") * 40

    def client() -> Any:
        with smtplib.SMTP("127.0.0.1", f.submission, timeout=10) as s:
            s.starttls(context=client_ssl_context())
            s.ehlo("client.test")
            assert s.esmtp_features["size"] == "2000"
            s.login("alice@example.test", PASSWORD)
            s.mail("alice@example.test")  # no SIZE=, which would be refused at MAIL
            s.rcpt("bob@example.test")
            return s.data(big)[0], s.noop()[0]

    assert (yield threaded(client)) == (552, 250)  # refused, and the session goes on
    assert "reject: DATA from localhost[127.0.0.1]: 552 5.3.4 message larger than 2000" in (
        maillog.text
    )
    assert f.inbox("bob@example.test") == []
    assert not any(f.service.store.ids(q) for q in ("incoming", "active", "deferred"))
