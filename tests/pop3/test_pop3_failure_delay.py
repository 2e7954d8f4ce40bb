"""A wrong password is answered only after ``[auth] failure_delay``, as Dovecot's
``auth_failure_delay``, and the wait holds back that one client, not the server."""

from __future__ import annotations

import poplib
import threading
import time
from pathlib import Path
from typing import Any

import pytest_twisted
from pop3_support import ALICE, BOB, message
from support import PASSWORD
from twisted.internet import threads

DELAY = 1.0


@pytest_twisted.inlineCallbacks
def test_a_wrong_password_is_answered_after_the_delay_and_others_are_served(
    pop3_factory: Any, tmp_path: Path
) -> None:
    pop3 = pop3_factory(tmp_path / "etc", auth={"passwd_file": "users", "failure_delay": DELAY})
    pop3.deliver(message(1), login=BOB)

    def sessions() -> tuple[bytes, float, list[bytes], bool]:
        guesser = pop3.client(login=None)
        guesser.user(ALICE)
        sent = threading.Event()
        served: list[bytes] = []
        served_while_waiting: list[bool] = []
        replied = threading.Event()

        def other_client() -> None:
            sent.wait(10)
            # Another connection logs in, lists and downloads while the guess waits.
            client = pop3.client(BOB)
            served.append(repr(client.stat()).encode())
            served.append(b"\r\n".join(client.retr(1)[1]))
            client.quit()
            served_while_waiting.append(not replied.is_set())

        thread = threading.Thread(target=other_client)
        thread.start()
        start = time.monotonic()
        sent.set()
        try:
            guesser.pass_("not the password")
        except poplib.error_proto as e:
            reply = bytes(e.args[0])
        else:
            raise AssertionError("a wrong password was accepted")
        elapsed = time.monotonic() - start
        replied.set()
        thread.join(10)
        # The same connection may try again, and the right password is not delayed.
        guesser.user(ALICE)
        assert guesser.pass_(PASSWORD) == b"+OK Logged in."
        guesser.quit()
        return reply, elapsed, served, served_while_waiting == [True]

    reply, elapsed, served, in_time = yield threads.deferToThread(sessions)
    assert reply == b"-ERR [AUTH] Authentication failed."
    # The clock only as a lower bound: the reply did not come before the delay.
    assert elapsed >= DELAY * 0.8
    assert served == [repr((1, len(message(1)))).encode(), message(1).rstrip(b"\r\n")]
    assert in_time, "the other client had to wait for the delayed reply"
