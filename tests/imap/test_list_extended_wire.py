"""LIST-EXTENDED, LIST-STATUS and SPECIAL-USE on the wire, as Thunderbird and the RFC
examples send them."""

from __future__ import annotations

import pytest_twisted
from clients import ALICE, MESSAGE, RawClient, login, ok
from support import PASSWORD
from twisted.internet import threads


def prepared(port: int) -> RawClient:
    raw = RawClient(port)
    raw.command(b"l", f"LOGIN {ALICE} {PASSWORD}".encode())
    for name in (b"Fruit.Apple", b"Fruit.Banana", b"Vegetable.Broccoli", b"Tofu"):
        assert raw.command(b"c", b"CREATE " + name)[-1].startswith(b"c OK")
    for name in (b"Fruit.Banana", b"Fruit.Peach", b"Vegetable", b"Vegetable.Broccoli"):
        assert raw.command(b"s", b"SUBSCRIBE " + name)[-1].startswith(b"s OK")
    return raw


@pytest_twisted.inlineCallbacks
def test_thunderbird_list_subscribed_special_use(imap_port: int) -> None:
    """Thunderbird's exact command once LIST-EXTENDED and SPECIAL-USE are offered."""

    def run() -> None:
        raw = prepared(imap_port)
        lines = raw.command(b"3", b'LIST (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE)')
        assert lines[-1] == b"3 OK LIST completed"
        assert lines[:-1] == [
            b'* LIST (\\Subscribed) "." INBOX',
            b'* LIST (\\Subscribed \\Drafts) "." Drafts',
            b'* LIST (\\Subscribed) "." Fruit.Banana',
            b'* LIST (\\NonExistent \\Subscribed) "." Fruit.Peach',
            b'* LIST (\\Subscribed \\Junk) "." Junk',
            b'* LIST (\\Subscribed \\Sent) "." Sent',
            b'* LIST (\\Subscribed \\Trash) "." Trash',
            b'* LIST (\\Subscribed) "." Vegetable',
            b'* LIST (\\Subscribed) "." Vegetable.Broccoli',
        ], lines
        raw.close()

    yield threads.deferToThread(run)


@pytest_twisted.inlineCallbacks
def test_recursivematch_childinfo_and_multiple_patterns(imap_port: int) -> None:
    def run() -> None:
        raw = prepared(imap_port)
        lines = raw.command(b"a", b'LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (CHILDREN)')
        assert b'* LIST (\\HasChildren) "." Fruit ("CHILDINFO" ("SUBSCRIBED"))' in lines
        assert (
            b'* LIST (\\Subscribed \\HasChildren) "." Vegetable ("CHILDINFO" ("SUBSCRIBED"))'
            in lines
        )
        lines = raw.command(b"b", b'LIST "" ("INBOX" "Tofu" Fruit.%) RETURN (CHILDREN)')
        names = [line.rsplit(b" ", 1)[1] for line in lines[:-1]]
        assert names == [b"INBOX", b"Fruit.Apple", b"Fruit.Banana", b"Tofu"]
        assert raw.command(b"c", b'LIST (RECURSIVEMATCH) "" %')[-1].startswith(b"c BAD")
        assert raw.command(b"d", b'LIST (BOGUS) "" %')[-1].startswith(b"d BAD")
        raw.close()

    yield threads.deferToThread(run)


@pytest_twisted.inlineCallbacks
def test_list_status(imap_port: int) -> None:
    """RFC 5819: a STATUS after each selectable folder's LIST line, none for a name that
    is not a folder."""

    def run() -> None:
        raw = prepared(imap_port)
        raw.send(b"a APPEND Tofu {%d+}\r\n" % len(MESSAGE) + MESSAGE + b"\r\n")
        raw.until_tagged(b"a")
        lines = raw.command(
            b"s", b'LIST "" (Tofu Fruit) RETURN (STATUS (MESSAGES UNSEEN HIGHESTMODSEQ))'
        )
        assert lines[0] == b'* LIST () "." Fruit'
        assert lines[1].startswith(b"* STATUS Fruit (MESSAGES 0 UNSEEN 0 HIGHESTMODSEQ ")
        assert lines[2] == b'* LIST () "." Tofu'
        assert lines[3].startswith(b"* STATUS Tofu (MESSAGES 1 UNSEEN 1 HIGHESTMODSEQ ")
        assert lines[4] == b"s OK LIST completed"
        lines = raw.command(b"t", b'LIST (SUBSCRIBED) "" Fruit.Peach RETURN (STATUS (MESSAGES))')
        assert lines == [
            b'* LIST (\\NonExistent \\Subscribed) "." Fruit.Peach',
            b"t OK LIST completed",
        ]
        raw.close()

    yield threads.deferToThread(run)


@pytest_twisted.inlineCallbacks
def test_imaplib_basic_list_is_unchanged(imap_port: int) -> None:
    def run() -> None:
        m = login(imap_port)
        listed = ok(m.list('""', "*"))
        assert b'(\\HasNoChildren \\Sent) "." Sent' in listed
        assert b'(\\HasNoChildren) "." INBOX' in listed
        m.logout()

    yield threads.deferToThread(run)
