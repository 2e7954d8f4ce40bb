"""LIST-EXTENDED and LIST-STATUS checked against Debian's Dovecot on RFC 5258's folders:
each LIST form must name the same folders with the same attributes and CHILDINFO."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from support import listen

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_imap_sort_dovecot import DOVECOT, LineClient, start_dovecot

FOLDERS = [b"Fruit", b"Fruit.Apple", b"Fruit.Banana", b"Tofu", b"Vegetable"]
FOLDERS += [b"Vegetable.Broccoli", b"Vegetable.Corn", b"Fruit.Peach"]
SUBSCRIBED = [b"Fruit.Banana", b"Fruit.Peach", b"Vegetable", b"Vegetable.Broccoli"]
COMMANDS = [
    b'LIST "" %',
    b'LIST "" % RETURN (SUBSCRIBED)',
    b'LIST (SUBSCRIBED) "" "*"',
    b'LIST (SUBSCRIBED RECURSIVEMATCH) "" %',
    b'LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (CHILDREN)',
    b'LIST (SUBSCRIBED RECURSIVEMATCH) "" "*"',
    b'LIST (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE)',
    b'LIST (SUBSCRIBED) "" % RETURN (CHILDREN)',
    b'LIST "" (Tofu Vegetable.%) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))',
    b'LIST "" "Fruit.*" RETURN (SUBSCRIBED CHILDREN)',
]
# Folders maa makes for every new mailbox (Dovecot here has none): left out of the answers.
_DEFAULTS = {"INBOX", "Drafts", "Sent", "Trash", "Junk"}


def facts(lines: list[bytes]) -> set[str]:
    out: set[str] = set()
    for line in lines:
        text = line.decode()
        found = re.match(r'\* LIST \(([^)]*)\) "\." (\S+)( .*)?$', text)
        if found:
            attributes, name, extra = found.groups()
            if name in _DEFAULTS:
                continue
            extra = (extra or "").replace('"CHILDINFO"', "CHILDINFO")
            out.add(f"LIST {sorted(attributes.split())} {name}{extra}")
        elif text.startswith("* STATUS"):
            out.add(text)
    return out


def run(port: int, user: bytes) -> list[set[str]]:
    client = LineClient(port)
    client.command(b"LOGIN " + user + b" secret")
    for name in FOLDERS:
        client.command(b"CREATE " + name)
    for name in SUBSCRIBED:
        client.command(b"SUBSCRIBE " + name)
    client.command(b"DELETE Fruit.Peach")  # subscribed but gone: \NonExistent
    client.command(b"APPEND Tofu", b"Subject: x\r\n\r\nhello\r\n")
    return [facts(client.command(command)) for command in COMMANDS]


def dovecot_facts() -> list[set[str]]:
    work = Path(tempfile.mkdtemp(prefix="maa-list-dovecot-"))
    os.chmod(work, 0o755)
    process, port = start_dovecot(work)
    try:
        return run(port, b"alice")
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.integration
@pytest_twisted.inlineCallbacks
def test_list_extended_answers_as_dovecot(ctx: Any) -> None:
    if DOVECOT is None:
        pytest.skip("dovecot is not installed")
    from twisted.internet import threads

    from maa.imap.server import build_factory

    expected = yield threads.deferToThread(dovecot_facts)
    port = listen(build_factory(ctx, implicit_tls=False))
    got = yield threads.deferToThread(run, port, b"alice@example.test")
    mismatches = [
        (command.decode(), sorted(mine), sorted(theirs))
        for command, mine, theirs in zip(COMMANDS, got, expected, strict=True)
        if mine != theirs
    ]
    report = "\n".join(f"{c}\n  maa:     {m}\n  dovecot: {t}" for c, m, t in mismatches)
    assert mismatches == [], report
