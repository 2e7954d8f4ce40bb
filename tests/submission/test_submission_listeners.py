"""The SMTP front over real sockets with smtplib: submission with STARTTLS (587) and implicit
TLS (465), the port 25 role, relay refusal, local and alias delivery, sender ownership,
header_checks, and the wire attacks (SMTP smuggling, STARTTLS command injection)."""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable
from typing import Any

import pytest
import pytest_twisted
from front_support import Front
from support import client_ssl_context

PASSWORD = "secret"
MESSAGE = (
    "From: alice@example.test\r\nTo: bob@example.test\r\nBcc: hidden@example.test\r\n"
    "Subject: lunch\r\n\r\nAt noon?\r\n"
)

S530 = (530, b"5.7.0 Authentication required")


def threaded(fn: Callable[[], Any]) -> Any:
    from twisted.internet import threads

    return threads.deferToThread(fn)


@pytest_twisted.inlineCallbacks
def test_submission_starttls_auth_delivers_locally(front: Callable[..., Front], maillog) -> None:
    f = front()

    def client() -> Any:
        with smtplib.SMTP("127.0.0.1", f.submission, timeout=10) as s:
            s.ehlo("client.test")
            assert s.has_extn("starttls")
            s.starttls(context=client_ssl_context())
            s.ehlo("client.test")
            assert "PLAIN" in s.esmtp_features["auth"]
            s.login("alice@example.test", PASSWORD)
            return s.sendmail("alice@example.test", ["bob@example.test"], MESSAGE)

    refused = yield threaded(client)
    assert refused == {}
    [msg] = yield f.wait_inbox("bob@example.test")
    assert msg["Subject"] == "lunch"
    assert msg["Bcc"] is None
    assert "with ESMTPSA id" in msg["Received"]
    assert msg["Return-Path"] == "<alice@example.test>"
    text = maillog.text
    assert "connect from localhost[127.0.0.1]" in text
    assert "sasl_method=PLAIN, sasl_username=alice@example.test" in text
    assert "nrcpt=1 (queue active)" in text


@pytest_twisted.inlineCallbacks
def test_implicit_tls_submission_with_auth(front: Callable[..., Front]) -> None:
    f = front()

    def client() -> Any:
        with smtplib.SMTP_SSL(
            "127.0.0.1", f.submissions, timeout=10, context=client_ssl_context()
        ) as s:
            s.ehlo("client.test")
            assert not s.has_extn("starttls")
            s.login("bob@example.test", PASSWORD)
            s.sendmail("bob@example.test", ["alice@example.test"], MESSAGE)

    yield threaded(client)
    [msg] = yield f.wait_inbox("alice@example.test")
    assert msg["Subject"] == "lunch"


@pytest_twisted.inlineCallbacks
def test_submission_requires_auth_before_mail(front: Callable[..., Front], maillog) -> None:
    f = front()

    def client() -> Any:
        with smtplib.SMTP("127.0.0.1", f.submission, timeout=10) as s:
            s.ehlo("client.test")
            return s.mail("alice@example.test"), s.rcpt("x@remote.test")

    mail, _rcpt = yield threaded(client)
    assert mail == S530
    assert (
        "NOQUEUE: reject: MAIL from localhost[127.0.0.1]: 530 5.7.0 Authentication required; "
        "from=<alice@example.test> proto=ESMTP helo=<client.test>"
    ) in maillog.text


@pytest_twisted.inlineCallbacks
def test_submission_refuses_a_wrong_password(front: Callable[..., Front]) -> None:
    f = front()

    def client() -> Any:
        with smtplib.SMTP("127.0.0.1", f.submission, timeout=10) as s:
            s.starttls(context=client_ssl_context())
            with pytest.raises(smtplib.SMTPAuthenticationError) as info:
                s.login("alice@example.test", "wrong")
            return info.value.smtp_code

    assert (yield threaded(client)) == 535


@pytest_twisted.inlineCallbacks
def test_auth_offered_in_plaintext_on_loopback(front: Callable[..., Front]) -> None:
    """Loopback is trusted with cleartext passwords (Dovecot's rule); off loopback see
    test_submission_policy.py."""
    f = front()

    def client() -> Any:
        with smtplib.SMTP("127.0.0.1", f.submission, timeout=10) as s:
            s.ehlo("client.test")
            has_auth = s.has_extn("auth")
            s.login("carol", PASSWORD)
            return has_auth

    assert (yield threaded(client))


@pytest_twisted.inlineCallbacks
def test_open_relay_refused_on_port_25(front: Callable[..., Front], maillog) -> None:
    f = front(smtp={"mynetworks": ["192.0.2.0/24"]})

    def client() -> Any:
        with smtplib.SMTP("127.0.0.1", f.mx, timeout=10) as s:
            s.ehlo("spammer.test")
            s.mail("spammer@elsewhere.test")
            return s.rcpt("victim@remote.test"), s.rcpt("bob@example.test")

    foreign, local = yield threaded(client)
    assert foreign == (554, b"5.7.1 <victim@remote.test>: Relay access denied")
    assert local[0] == 250
    assert "NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 554 5.7.1" in maillog.text


@pytest_twisted.inlineCallbacks
def test_open_relay_refused_on_submission(front: Callable[..., Front]) -> None:
    f = front()

    def client() -> Any:
        with smtplib.SMTP("127.0.0.1", f.submission, timeout=10) as s:
            s.ehlo("spammer.test")
            mail = s.mail("spammer@elsewhere.test")
            rcpt = s.rcpt("victim@remote.test")
        with smtplib.SMTP_SSL(
            "127.0.0.1", f.submissions, timeout=10, context=client_ssl_context()
        ) as s:
            s.ehlo("spammer.test")
            implicit = s.mail("spammer@elsewhere.test")
        return mail, rcpt, implicit

    mail, rcpt, implicit = yield threaded(client)
    assert mail == S530 and implicit == S530
    assert rcpt[0] == 503  # no transaction without MAIL


@pytest_twisted.inlineCallbacks
def test_port_25_accepts_hosted_domains_without_auth(front: Callable[..., Front]) -> None:
    f = front(smtp={"mynetworks": ["192.0.2.0/24"]})

    def client() -> Any:
        with smtplib.SMTP("127.0.0.1", f.mx, timeout=10) as s:
            return s.sendmail("someone@elsewhere.test", ["bob@example.test"], MESSAGE)

    assert (yield threaded(client)) == {}
    [msg] = yield f.wait_inbox("bob@example.test")
    assert msg["Return-Path"] == "<someone@elsewhere.test>"


@pytest_twisted.inlineCallbacks
def test_unknown_local_recipient_rejected_at_rcpt(front: Callable[..., Front]) -> None:
    f = front()

    def client() -> Any:
        with smtplib.SMTP("127.0.0.1", f.mx, timeout=10) as s:
            s.ehlo("client.test")
            s.mail("someone@elsewhere.test")
            return s.rcpt("ghost@example.test")

    code, text = yield threaded(client)
    assert (code, text[:5]) == (550, b"5.1.1")


@pytest_twisted.inlineCallbacks
def test_alias_delivers_to_two_users(front: Callable[..., Front]) -> None:
    f = front(
        files={"aliases": "team@example.test  alice@example.test, bob@example.test\n"},
        submission={"aliases": "aliases"},
    )

    def client() -> Any:
        with smtplib.SMTP("127.0.0.1", f.mx, timeout=10) as s:
            return s.sendmail("someone@elsewhere.test", ["team@example.test"], MESSAGE)

    assert (yield threaded(client)) == {}
    yield f.wait_inbox("alice@example.test")
    yield f.wait_inbox("bob@example.test")


@pytest_twisted.inlineCallbacks
def test_sender_must_be_owned_by_the_user(front: Callable[..., Front], maillog) -> None:
    f = front(
        files={"aliases": "boss@example.test  alice@example.test\n"},
        submission={"aliases": "aliases"},
    )

    def client() -> Any:
        with smtplib.SMTP("127.0.0.1", f.submission, timeout=10) as s:
            s.login("alice@example.test", PASSWORD)
            other = s.mail("bob@example.test")
            s.rset()
            alias = s.mail("boss@example.test")
            s.rset()
            detail = s.mail("alice+lists@example.test")
            return other, alias, detail

    other, alias, detail = yield threaded(client)
    assert other == (
        553,
        b"5.7.1 <bob@example.test>: Sender address rejected: not owned by user alice@example.test",
    )
    assert alias[0] == 250 and detail[0] == 250
    assert (
        "NOQUEUE: reject: MAIL from localhost[127.0.0.1]: 553 5.7.1 <bob@example.test>: "
        "Sender address rejected: not owned by user alice@example.test; from=<bob@example.test>"
    ) in maillog.text


@pytest_twisted.inlineCallbacks
def test_header_checks_warn_logs_subject_with_queue_id(
    front: Callable[..., Front], maillog
) -> None:
    f = front(
        files={"header_checks": "/^Subject:/ WARN\n/^X-Spam: yes/ REJECT no spam here\n"},
        submission={"header_checks": "header_checks"},
    )

    def client() -> Any:
        with smtplib.SMTP("127.0.0.1", f.mx, timeout=10) as s:
            s.sendmail("someone@elsewhere.test", ["bob@example.test"], MESSAGE)
            with pytest.raises(smtplib.SMTPDataError) as info:
                s.sendmail("x@elsewhere.test", ["bob@example.test"], "X-Spam: yes\r\n\r\nhi\r\n")
            return info.value

    rejected = yield threaded(client)
    assert (rejected.smtp_code, rejected.smtp_error) == (550, b"5.7.1 no spam here")
    [msg] = yield f.wait_inbox("bob@example.test")
    queue_id = msg["Received"].split(" id ")[1].split()[0].rstrip(";")
    assert (
        f"{queue_id}: warning: header Subject: lunch from localhost[127.0.0.1]; "
        "from=<someone@elsewhere.test> to=<bob@example.test>"
    ) in maillog.text


def _dialogue(port: int, lines: list[bytes], *, settle: bytes = b"") -> bytes:
    """Send raw lines and read until the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.recv(4096)
        sock.sendall(b"".join(lines))
        sock.settimeout(2)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
                if out.rstrip().endswith(b"Bye"):
                    break
        except TimeoutError:
            pass
        return out


@pytest.mark.parametrize("smuggle", [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r\n.\r"])
@pytest_twisted.inlineCallbacks
def test_smtp_smuggling_bare_lf_does_not_end_data(
    front: Callable[..., Front], smuggle: bytes
) -> None:
    """A dot after a bare LF or before a bare CR must not end DATA: the "smuggled" second
    transaction stays inside the first message, and only one message is queued."""
    f = front(smtp={"mynetworks": ["192.0.2.0/24"]})
    payload = [
        b"EHLO client.test\r\n",
        b"MAIL FROM:<a@elsewhere.test>\r\n",
        b"RCPT TO:<bob@example.test>\r\n",
        b"DATA\r\n",
        b"Subject: first\r\n\r\nbody" + smuggle,
        b"MAIL FROM:<admin@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n",
        b"Subject: smuggled\r\n\r\nevil\r\n.\r\n",
        b"QUIT\r\n",
    ]
    out = yield threaded(lambda: _dialogue(f.mx, payload))
    assert out.count(b"queued as") == 1
    [msg] = yield f.wait_inbox("bob@example.test")
    assert msg["Subject"] == "first"
    assert b"smuggled" in msg.as_bytes()
    assert f.inbox("alice@example.test") == []


@pytest_twisted.inlineCallbacks
def test_starttls_pipelined_plaintext_is_discarded(front: Callable[..., Front]) -> None:
    """CVE-2011-0411: commands sent in plaintext after STARTTLS must not run inside TLS."""
    f = front(smtp={"mynetworks": ["192.0.2.0/24"]})

    def attack() -> bytes:
        raw = socket.create_connection(("127.0.0.1", f.mx), timeout=5)
        raw.recv(4096)
        raw.sendall(b"EHLO client.test\r\n")
        raw.recv(4096)
        raw.sendall(b"STARTTLS\r\nMAIL FROM:<injected@elsewhere.test>\r\n")
        assert raw.recv(4096).startswith(b"220")
        tls = client_ssl_context().wrap_socket(raw)
        tls.sendall(b"EHLO client.test\r\nRCPT TO:<bob@example.test>\r\nQUIT\r\n")
        tls.settimeout(5)
        out = b""
        try:
            while chunk := tls.recv(4096):
                out += chunk
        except (TimeoutError, ssl.SSLError):
            pass
        tls.close()
        return out

    out = yield threaded(attack)
    assert b"503 5.5.1" in out  # RCPT without MAIL: the injected MAIL never ran
    assert b"injected" not in out


@pytest_twisted.inlineCallbacks
def test_chunking_bdat_with_pipelining(front: Callable[..., Front]) -> None:
    """RFC 3030 BDAT, pipelined (RFC 2920) with MAIL and RCPT in one write."""
    f = front(smtp={"mynetworks": ["192.0.2.0/24"]})
    body = b"Subject: chunked\r\n\r\nfirst part, "
    rest = b"second part\r\n"
    payload = [
        b"EHLO client.test\r\n",
        b"MAIL FROM:<a@elsewhere.test> BODY=8BITMIME\r\nRCPT TO:<bob@example.test>\r\n"
        + b"BDAT %d\r\n" % len(body)
        + body
        + b"BDAT %d LAST\r\n" % len(rest)
        + rest,
        b"QUIT\r\n",
    ]
    out = yield threaded(lambda: _dialogue(f.mx, payload))
    assert b"250 2.0.0 Ok: queued as" in out
    [msg] = yield f.wait_inbox("bob@example.test")
    assert msg["Subject"] == "chunked"
    assert msg.get_payload() == "first part, second part\r\n"


@pytest_twisted.inlineCallbacks
def test_auth_login_mechanism_over_starttls(front: Callable[..., Front]) -> None:
    f = front()

    def client() -> Any:
        with smtplib.SMTP("127.0.0.1", f.submission, timeout=10) as s:
            s.starttls(context=client_ssl_context())
            s.ehlo("client.test")
            s.user, s.password = "bob@example.test", PASSWORD
            code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
            return code, s.mail("bob@example.test")[0]

    assert (yield threaded(client)) == (235, 250)


@pytest_twisted.inlineCallbacks
def test_smtputf8_and_dsn_parameters_accepted(front: Callable[..., Front]) -> None:
    f = front(smtp={"mynetworks": ["192.0.2.0/24"]})
    message = "From: jörg@elsewhere.test\r\nSubject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\n\r\nhallo\r\n"

    def client() -> Any:
        with smtplib.SMTP("127.0.0.1", f.mx, timeout=10) as s:
            s.ehlo("client.test")
            assert s.has_extn("smtputf8") and s.has_extn("dsn")
            return s.sendmail(
                "jörg@elsewhere.test",
                ["bob@example.test"],
                message.encode("utf-8"),
                mail_options=["SMTPUTF8", "BODY=8BITMIME", "RET=HDRS", "ENVID=abc123"],
                rcpt_options=["NOTIFY=FAILURE,DELAY", "ORCPT=rfc822;bob@example.test"],
            )

    assert (yield threaded(client)) == {}
    yield f.wait_inbox("bob@example.test")
    user = f.ctx.userdb.lookup("bob@example.test")
    folder = f.ctx.stores.open(user).folder("INBOX")  # type: ignore[arg-type]
    raw = folder.read(folder.messages()[0].uid)
    assert "Return-Path: <jörg@elsewhere.test>\r\n".encode() in raw


@pytest_twisted.inlineCallbacks
def test_alias_past_the_recursion_limit_gets_451_at_rcpt(
    front: Callable[..., Front], maillog
) -> None:
    """A temporary refusal: the client keeps the message while the admin fixes the table;
    the session goes on."""
    from maa.queue.aliases import RECURSION_LIMIT

    chain = "".join(
        f"deep{i}@example.test  deep{i + 1}@example.test\n" for i in range(RECURSION_LIMIT + 1)
    )
    f = front(files={"aliases": chain}, submission={"aliases": "aliases"})

    def client() -> Any:
        with smtplib.SMTP("127.0.0.1", f.mx, timeout=10) as s:
            s.ehlo("client.test")
            s.mail("someone@elsewhere.test")
            return s.rcpt("deep0@example.test"), s.rcpt("bob@example.test")

    deep, bob = yield threaded(client)
    assert deep == (451, b"4.3.0 <deep0@example.test>: Temporary lookup failure")
    assert bob[0] == 250
    assert "deep0@example.test: alias recursion limit exceeded" in maillog.text
    assert "NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 451 4.3.0" in maillog.text
