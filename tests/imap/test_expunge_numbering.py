"""EXPUNGE responses renumber as they go (RFC 3501 section 7.4.1): after ``* 1 EXPUNGE`` the
message that was number 2 is number 1. A client that tracks sequence numbers (Thunderbird,
Evolution without QRESYNC) applies each line in turn, so the lines must name each message by
its number at that moment; otherwise it drops the wrong messages from view."""

from __future__ import annotations

import pytest_twisted
from clients import RawClient
from test_condstore import append, logged_in
from twisted.internet import threads


def apply_expunges(uids: list[int], lines: list[bytes]) -> list[int]:
    """What a client's sequence-number map holds after it applies ``lines`` in order."""
    left = list(uids)
    for line in lines:
        if line.endswith(b" EXPUNGE"):
            del left[int(line.split()[1]) - 1]
    return left


@pytest_twisted.inlineCallbacks
def test_expunge_of_scattered_messages_names_each_by_its_current_number(imap_port: int) -> None:
    def run() -> None:
        raw: RawClient = logged_in(imap_port)
        append(raw, 8)
        assert raw.command(b"s", b"SELECT INBOX")[-1].startswith(b"s OK")
        raw.command(b"d", b"STORE 1:3,5,7 +FLAGS.SILENT (\\Deleted)")
        lines = raw.command(b"e", b"EXPUNGE")
        assert lines[-1].startswith(b"e OK")
        assert apply_expunges([1, 2, 3, 4, 5, 6, 7, 8], lines[:-1]) == [4, 6, 8]

    yield threads.deferToThread(run)
