"""Log lines in Dovecot's shape, for admins who grep maillog."""

from __future__ import annotations

import logging
import re

import pytest
import pytest_twisted
from clients import ALICE, login
from twisted.internet import threads


@pytest_twisted.inlineCallbacks
def test_login_and_logout_lines(imap_port: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="maa.imap")
    # setup_logging (run by an in-process `maa serve` test) stops "maa" propagating to the
    # root logger caplog listens on: listen on "maa" itself.
    maa_logger = logging.getLogger("maa")
    maa_logger.addHandler(caplog.handler)

    def client() -> None:
        m = login(imap_port)
        m.logout()

    try:
        yield threads.deferToThread(client)
    finally:
        maa_logger.removeHandler(caplog.handler)
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "maa.imap")
    assert re.search(
        rf"Login: user=<{ALICE}>, method=LOGIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1, "
        r"mpid=\d+, session=<[^>]+>",
        text,
    ), text
    assert re.search(r"Logged out in=\d+ out=\d+", text), text
