"""A header FETCH over a folder answers the same from the message files (first) as from the
header cache (after), on Maildir and on the memory store, beside the index items."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import pytest_twisted
from clients import MESSAGE, MULTIPART, RawClient
from support import listen
from twisted.internet import threads

from maa.context import ServerContext

FOLDED = b"Subject: one\r\n two\r\nX-Priority: 3\r\nFrom: a@example.test\r\n\r\nbody\r\n"
NO_FIELDS = b"X-Other: 1\r\n\r\nbody\r\n"
FETCHES = [
    # first, on an empty cache: two sections from one read of each header
    b"FETCH 1:* (BODY.PEEK[HEADER.FIELDS (X-Priority)] FLAGS BODY.PEEK[HEADER.FIELDS (To Cc)])",
    b"FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From Subject X-Priority)])",
    b"UID FETCH 1:* (FLAGS INTERNALDATE MODSEQ BODY.PEEK[HEADER.FIELDS (SUBJECT Date)]"
    b" BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Date Message-ID In-Reply-To References"
    b" Subject)])",
    b"FETCH 2,4 (BODY.PEEK[HEADER.FIELDS (Subject)] UID)",
]


@pytest.fixture
def maildir_port(ctx: ServerContext) -> Iterator[int]:
    from maa.imap.server import build_factory

    assert ctx.config.mail.location.startswith("maildir:")
    yield listen(build_factory(ctx, implicit_tls=False))


def _without_header_items(data: bytes) -> bytes:
    """FETCH responses with each `` BODY[HEADER] {n}`` item and its literal left out."""
    out, at = [], 0
    for match in re.finditer(rb" BODY\[HEADER\] \{(\d+)\}\r\n", data):
        if match.start() < at:
            continue  # inside a literal already skipped
        out.append(data[at : match.start()])
        at = match.end() + int(match[1])
    return b"".join(out) + data[at:]


def _fetch_twice(port: int) -> None:
    raw = RawClient(port)
    raw.command(b"l", b"LOGIN alice@example.test secret")
    for message in (MESSAGE, MULTIPART, FOLDED, NO_FIELDS):
        raw.command(b"a", b"APPEND INBOX {%d+}\r\n%s" % (len(message), message))
    raw.command(b"s", b"SELECT INBOX")
    raw.command(b"f", b"STORE 2 +FLAGS.SILENT (\\Flagged $Work)")
    for command in FETCHES:
        first = raw.command(b"f1", command)
        again = raw.command(b"f2", command)
        assert first[-1].startswith(b"f1 OK") and again[-1].startswith(b"f2 OK")
        assert first[:-1] == again[:-1]
        # BODY.PEEK[HEADER] added takes every message through the general code
        general = raw.command(b"f3", command[:-1] + b" BODY.PEEK[HEADER])")
        assert b"\r\n".join(first[:-1]) == _without_header_items(b"\r\n".join(general[:-1]))
    lines = raw.command(b"f3", FETCHES[1])
    name = b"BODY[HEADER.FIELDS (FROM SUBJECT X-PRIORITY)]"
    assert lines[0] == b"* 1 FETCH (UID 1 RFC822.SIZE %d FLAGS (\\Recent) %s {87}" % (
        len(MESSAGE),
        name,
    )
    flagged = b"* 2 FETCH (UID 2 RFC822.SIZE %d FLAGS ($Work \\Flagged \\Recent) %s {44}"
    assert flagged % (len(MULTIPART), name) in lines
    fold = lines.index(b"Subject: one")
    assert lines[fold + 1 : fold + 5] == [b" two", b"X-Priority: 3", b"From: a@example.test", b""]
    empty = b"* 4 FETCH (UID 4 RFC822.SIZE %d FLAGS (\\Recent) %s {2}" % (len(NO_FIELDS), name)
    assert empty in lines
    raw.close()


@pytest_twisted.inlineCallbacks
def test_header_fetch_from_cache_is_as_from_files_maildir(maildir_port: int) -> None:
    yield threads.deferToThread(_fetch_twice, maildir_port)


@pytest_twisted.inlineCallbacks
def test_header_fetch_from_cache_is_as_from_files_memory(imap_port: int) -> None:
    yield threads.deferToThread(_fetch_twice, imap_port)
