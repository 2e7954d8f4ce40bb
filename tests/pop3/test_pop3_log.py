"""The maillog lines admins grep: login, failed login, and Dovecot's logout figures."""

from __future__ import annotations

import logging
import re

import pytest
import pytest_twisted
from pop3_support import ALICE, Pop3Server, message
from twisted.internet import defer, task, threads


@defer.inlineCallbacks
def _logged(caplog: pytest.LogCaptureFixture, text: str):  # type: ignore[no-untyped-def]
    """The maa.pop3 line containing ``text`` once the server has written it (the logout
    line follows the client's QUIT by a moment)."""
    from twisted.internet import reactor

    for _ in range(500):
        for record in caplog.records:
            if record.name == "maa.pop3" and text in record.getMessage():
                return record.getMessage()
        yield task.deferLater(reactor, 0.02, lambda: None)
    raise AssertionError(f"no log line with {text!r}")


@pytest_twisted.inlineCallbacks
def test_login_and_logout_lines(pop3: Pop3Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="maa.pop3")
    pop3.deliver(message(1), message(2), message(3))
    size = sum(len(message(n)) for n in (1, 2, 3))

    def session() -> None:
        client = pop3.tls_client()
        client.retr(2)
        client.top(1, 0)
        client.dele(3)
        client.quit()

    yield threads.deferToThread(session)
    login = yield _logged(caplog, "Login:")
    assert re.fullmatch(
        r"(\S+): Login: user=<alice@example\.test>, method=PLAIN, rip=127\.0\.0\.1, "
        r"lip=127\.0\.0\.1, TLS, session=<\1>",
        login,
    ), login
    logout = yield _logged(caplog, "Disconnected:")
    top_bytes = len(message(1).split(b"\r\n\r\n")[0]) + 4
    assert logout.endswith(
        f"Disconnected: Logged out top=1/{top_bytes}, retr=1/{len(message(2))}, "
        f"del=1/3, size={size}"
    ), logout


@pytest_twisted.inlineCallbacks
def test_failed_login_is_logged(pop3: Pop3Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="maa.pop3")

    def session() -> None:
        client = pop3.client(login=None)
        client.user(ALICE)
        try:
            client.pass_("wrong")
        except Exception:
            pass
        client.quit()

    yield threads.deferToThread(session)
    line = yield _logged(caplog, "Authentication failed:")
    assert "Authentication failed: user=<alice@example.test>, method=PLAIN, rip=127.0.0.1" in line


@pytest_twisted.inlineCallbacks
def test_disconnect_after_failed_logins_is_logged(
    pop3: Pop3Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="maa.pop3")

    def session() -> None:
        client = pop3.client(login=None)
        for password in ("wrong", "worse"):
            client.user(ALICE)
            try:
                client.pass_(password)
            except Exception:
                pass
        client.quit()

    yield threads.deferToThread(session)
    line = yield _logged(caplog, "Disconnected (")
    assert line.endswith(
        "Disconnected (auth failed, 2 attempts): user=<alice@example.test>, method=PLAIN, "
        "rip=127.0.0.1, lip=127.0.0.1"
    ), line
