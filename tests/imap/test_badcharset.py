"""An unknown charset in SEARCH, SORT or THREAD is a NO with the BADCHARSET response code
right after it (RFC 3501 sections 6.4.4 and 7.1, RFC 5256 section 3), which is where clients
look for it to retry in UTF-8; Dovecot answers ``NO [BADCHARSET] Unknown charset``."""

from __future__ import annotations

import re

import pytest
import pytest_twisted
from test_condstore import append, logged_in
from twisted.internet import threads

BADCHARSET_NO = re.compile(rb"^(\w+) NO \[BADCHARSET( \([^)]*\))?\] ")


@pytest.mark.parametrize(
    "command",
    [
        b"SEARCH CHARSET KOI8-R SUBJECT x",
        b"SORT (SUBJECT) KOI8-R ALL",
        b"UID THREAD REFERENCES KOI8-R ALL",
    ],
)
@pytest_twisted.inlineCallbacks
def test_unknown_charset_is_no_badcharset(imap_port: int, command: bytes) -> None:
    def run() -> None:
        raw = logged_in(imap_port)
        append(raw, 1)
        assert raw.command(b"s", b"SELECT INBOX")[-1].startswith(b"s OK")
        (reply,) = raw.command(b"c", command)
        assert BADCHARSET_NO.match(reply), reply
        assert raw.command(b"n", b"NOOP")[-1].startswith(b"n OK")  # the session goes on

    yield threads.deferToThread(run)
