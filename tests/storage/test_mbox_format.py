"""The mbox file format: mboxrd quoting, line ends, separators, files other programs wrote."""

from __future__ import annotations

import io
import mmap
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maa.storage.interface import ANSWERED, DELETED, FLAGGED, SEEN
from maa.storage.mbox import MboxStore
from maa.storage.mbox.format import (
    LINE_CHUNK,
    READ_BLOCK,
    EncodeResult,
    ScannedMessage,
    decode_message,
    encode_message,
    from_line,
    parse_from_date,
    scan,
)


def encode(message: bytes) -> tuple[bytes, EncodeResult]:
    result = EncodeResult()
    return b"".join(encode_message(io.BytesIO(message), result)), result


def decode(disk: bytes, size: int) -> bytes:
    return b"".join(decode_message(io.BytesIO(disk), len(disk)))[:size]


def scan_bytes(data: bytes) -> list[ScannedMessage]:
    with mmap.mmap(-1, max(len(data), 1)) as mapped:
        mapped[: len(data)] = data
        return scan(mapped, 0, len(data))


QUOTING = b"Subject: quoting\r\n\r\nFrom x\r\n>From y\r\n>>From z\r\nFrom\r\n>From\r\nFromage\r\n"


def test_from_quoting_round_trip_is_byte_exact(tmp_path: Path) -> None:
    store = MboxStore(tmp_path / "mail")
    inbox = store.folder("INBOX")
    uid = inbox.append(QUOTING)
    disk = (tmp_path / "mail" / "inbox").read_bytes()
    body = disk.split(b"\n", 1)[1]
    # As Dovecot writes it: the body verbatim, its length in a Content-Length header.
    assert body == (
        b"Subject: quoting\nContent-Length: 43" + b" " * 18 + b"\n\n"
        b"From x\n>From y\n>>From z\nFrom\n>From\nFromage\n\n"
    )
    assert inbox.read(uid) == QUOTING
    assert inbox.message(uid).size == len(QUOTING)
    # A fresh index (another process, or the index deleted) reads the file the same way.
    store.close()
    (tmp_path / "mail" / ".imap" / "maa-index.sqlite").unlink()
    again = MboxStore(tmp_path / "mail").folder("INBOX")
    (info,) = again.messages()
    assert again.read(info.uid) == QUOTING
    assert info.size == len(QUOTING)


def test_message_without_final_line_end_round_trips(tmp_path: Path) -> None:
    inbox = MboxStore(tmp_path / "mail").folder("INBOX")
    message = b"Subject: no end\r\n\r\nlast line without CRLF"
    uid = inbox.append(message)
    second = inbox.append(b"Subject: next\r\n\r\nbody\r\n")
    assert inbox.read(uid) == message
    assert inbox.read(second) == b"Subject: next\r\n\r\nbody\r\n"


def test_lines_longer_than_a_chunk_keep_quoting_right() -> None:
    # A line of ">" longer than one read chunk, then "From ": still one quoted line.
    arrows = b">" * (LINE_CHUNK + 10)
    message = b"Subject: long\r\n\r\n" + arrows + b"From x\r\n" + b"A" * (3 * LINE_CHUNK) + b"\r\n"
    disk, result = encode(message)
    assert disk.count(b">>" + arrows[1:] + b"From x\n") == 1
    assert result.size == len(message)
    assert decode(disk, result.size) == message


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    message = b"S: x\r\n\r\n" + b"B" * (LINE_CHUNK - 9) + b"\r\nnext\r\n"
    disk, result = encode(message)
    assert b"\r" not in disk
    assert decode(disk, result.size) == message


@pytest.mark.parametrize(
    "length",
    [
        *(LINE_CHUNK - 6, LINE_CHUNK - 5, LINE_CHUNK - 1, LINE_CHUNK, LINE_CHUNK + 1),
        *(READ_BLOCK - 1, READ_BLOCK, READ_BLOCK + 1, 2 * READ_BLOCK + 3),
    ],
)
def test_block_and_chunk_boundaries(length: int) -> None:
    """Long ">" runs, "From " and CRLFs landing on every read and chunk boundary."""
    message = (
        b"S: x\r\n\r\n"
        + b">" * length
        + b"From a\r\n"
        + b"B" * length
        + b"\r\nFrom b\r\n"
        + b"C" * (length - 1)
        + b"\r\n>From c\r\n"
    )
    disk, result = encode(message)
    assert b"\r" not in disk
    assert disk.count(b">" * (length + 1) + b"From a\n") == 1
    assert b"\n>From b\n" in disk and b"\n>>From c\n" in disk
    assert result.size == len(message)
    assert decode(disk, result.size) == message


class Trickle(io.RawIOBase):
    """A source that hands out a few bytes per read, as a slow socket would."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self._data = data
        self._sizes = sizes or [1]
        self._reads = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), self._sizes[self._reads % len(self._sizes)], len(self._data))
        self._reads += 1
        buffer[:size] = self._data[:size]
        self._data = self._data[size:]
        return size


# Message bodies: lines of printable text that often start with From/>From, CRLF-joined.
_line = st.one_of(
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"")),
    st.sampled_from([b"From x", b">From y", b">>From z", b"From", b">", b">>", b"From  "]),
    st.tuples(st.sampled_from([b"", b">", b">>>"]), st.binary(max_size=10)).map(
        lambda t: t[0] + b"From " + t[1].replace(b"\n", b"").replace(b"\r", b"")
    ),
)
_message = st.tuples(st.lists(_line, max_size=12), st.booleans()).map(
    lambda t: b"\r\n".join(t[0]) + (b"\r\n" if t[1] and t[0] else b"")
)

_HIDDEN = re.compile(
    rb"^(content-length|status|x-imap|x-imapbase|x-keywords|x-status|x-uid)[ \t]*:",
    re.IGNORECASE | re.MULTILINE,
)


def _hides_a_header(message: bytes) -> bool:
    """Whether the header holds a field the format keeps its state in: hidden from
    readers, and dropped when a message is saved (as Dovecot does)."""
    return bool(_HIDDEN.search(message.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]))


# Messages read back exactly as given.
_plain_message = _message.filter(lambda m: not _hides_a_header(m))


# No per-example deadlines in this module: timing depends on the machine, not on the code.
@settings(deadline=None)
@given(_plain_message)
def test_random_messages_round_trip_through_the_disk_form(message: bytes) -> None:
    disk, result = encode(message)
    assert result.size == len(message)
    assert decode(disk, result.size) == message
    # No line of the disk form can be taken for a separator.
    assert not disk.startswith(b"From ") and b"\nFrom " not in disk


@settings(deadline=None)
@given(_plain_message, st.lists(st.integers(1, 9), max_size=5))
def test_short_reads_from_the_source_change_nothing(message: bytes, sizes: list[int]) -> None:
    expected, _ = encode(message)
    result = EncodeResult()
    source = Trickle(message, sizes)
    assert b"".join(encode_message(source, result)) == expected  # type: ignore[arg-type]
    assert result.size == len(message)


@settings(max_examples=50, deadline=None)
@given(st.lists(_plain_message, min_size=1, max_size=6))
def test_scanning_finds_exactly_the_messages_written(messages: list[bytes]) -> None:
    data = b""
    for message in messages:
        disk, _ = encode(message)
        data += from_line("MAILER-DAEMON", 0) + disk + b"\n"
    found = scan_bytes(data)
    assert len(found) == len(messages)
    for message, item in zip(messages, found, strict=True):
        shown = decode(data[item.body_offset : item.body_end], item.size)
        # Scanning cannot know an LF was added to end a message that had none.
        assert shown == message or shown == message + b"\r\n"


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_message, min_size=1, max_size=4))
def test_random_messages_round_trip_through_the_store(
    tmp_path_factory: object, messages: list[bytes]
) -> None:
    root = tmp_path_factory.mktemp("mbox")  # type: ignore[attr-defined]
    inbox = MboxStore(root).folder("INBOX")
    uids = [inbox.append(message) for message in messages]
    for uid, message in zip(uids, messages, strict=True):
        shown = inbox.read(uid)
        assert inbox.open(uid).read() == shown
        assert inbox.message(uid).size == len(shown)
        if not _hides_a_header(message):
            assert shown == message


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        (b"Status:", b""),
        (b"Content-Length: 3", b""),
        (b"Subject: a\r\nStatus: RO", b"Subject: a\r\n"),
        (b"Status: RO\r\nSubject: a", b"Subject: a"),
        (b"Subject: a\r\nX-UID: 4\r\n\r\nbody", b"Subject: a\r\n\r\nbody"),
    ],
)
def test_a_message_of_hidden_headers_and_no_line_end_has_the_size_it_shows(
    tmp_path: Path, message: bytes, shown: bytes
) -> None:
    """The LF added to end a message without one was taken off its size a second time when
    the last line was a hidden header dropped on saving: "Status:" alone had size -2."""
    inbox = MboxStore(tmp_path).folder("INBOX")
    uid = inbox.append(message)
    for box in (inbox, MboxStore(tmp_path).folder("INBOX")):
        assert box.read(uid) == shown
        assert box.message(uid).size == len(shown)


HAND_WRITTEN = b"""From alice@example.test Mon Nov  3 14:02:11 2025
Return-Path: <alice@example.test>
Subject: first
Status: RO

Hello.
>From the quoted line.

From bob@example.test Tue Nov  4 09:00:00 2025
Subject: second
X-Status: AF
X-Keywords: $Label1 work

Body with a line
From someone who did not quote and no empty line before it.
end

From carol Wed Nov  5 10:00:00 2025
Subject: third

last
"""


def test_hand_written_mbox_is_read_with_the_right_boundaries(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    root.mkdir()
    (root / "inbox").write_bytes(HAND_WRITTEN)
    inbox = MboxStore(root).folder("INBOX")
    infos = inbox.messages()
    assert [info.uid for info in infos] == [1, 2, 3]
    first, second, third = (inbox.read(info.uid) for info in infos)
    assert first.endswith(b"\r\n\r\nHello.\r\nFrom the quoted line.\r\n")
    assert b"Subject: second" in second
    assert second.endswith(b"no empty line before it.\r\nend\r\n")
    assert third == b"Subject: third\r\n\r\nlast\r\n"
    assert [info.size for info in infos] == [len(first), len(second), len(third)]
    assert infos[0].flags == {SEEN}
    assert infos[1].flags == {ANSWERED, FLAGGED, "$Label1", "work"}
    assert infos[0].internal_date == parse_from_date(b"From a Mon Nov  3 14:02:11 2025")


def test_raw_append_by_another_program_is_noticed(tmp_path: Path) -> None:
    store = MboxStore(tmp_path / "mail")
    inbox = store.folder("INBOX")
    mine = inbox.append(b"Subject: mine\r\n\r\nbody\r\n", [FLAGGED])
    assert inbox.refresh() is False
    # What formail/procmail do: open for append, write a From_ line and the message.
    with open(tmp_path / "mail" / "inbox", "ab") as mbox:
        mbox.write(b"From postmaster Mon Nov 23 10:00:00 2026\nSubject: theirs\n\n")
        mbox.write(b">From quoted\nbye\n\n")
    assert inbox.refresh() is True
    infos = inbox.messages()
    assert [info.uid for info in infos] == [mine, mine + 1]
    assert infos[0].flags == {FLAGGED}
    assert inbox.read(mine + 1) == b"Subject: theirs\r\n\r\nFrom quoted\r\nbye\r\n"
    assert inbox.status().uidnext == mine + 2
    # And our next append lands after theirs.
    third = inbox.append(b"Subject: third\r\n\r\n")
    assert third == mine + 2
    assert inbox.read(mine + 1).startswith(b"Subject: theirs")


def test_append_after_a_file_without_final_empty_line(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    root.mkdir()
    (root / "inbox").write_bytes(b"From a Mon Nov  3 14:02:11 2025\nSubject: a\n\nno empty line")
    inbox = MboxStore(root).folder("INBOX")
    uid = inbox.append(b"Subject: b\r\n\r\nb\r\n")
    assert inbox.read(1) == b"Subject: a\r\n\r\nno empty line"
    assert inbox.read(uid) == b"Subject: b\r\n\r\nb\r\n"
    assert len(scan_bytes((root / "inbox").read_bytes())) == 2


def test_mbox_from_dovecot_keeps_uids_and_uidvalidity(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    root.mkdir()
    (root / "inbox").write_bytes(
        b"From MAILER_DAEMON Mon Nov  3 14:00:00 2025\n"
        b"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
        b"X-IMAP: 1700000000 0000000119 $Forwarded\n"
        b"Status: RO\n\nThis text is part of the internal format of your mail folder.\n\n"
        b"From a Mon Nov  3 14:02:11 2025\nSubject: a\nX-UID: 100\nStatus: RO\n\na\n\n"
        b"From b Mon Nov  3 14:02:12 2025\nSubject: b\nX-UID: 117\nX-Status: D\n\nb\n\n"
        b"From c Mon Nov  3 14:02:13 2025\nSubject: c\n\nc\n\n"
    )
    inbox = MboxStore(root).folder("INBOX")
    status = inbox.status()
    assert status.uidvalidity == 1700000000
    assert [(i.uid, i.flags) for i in inbox.messages()] == [
        (100, {SEEN}),
        (117, {DELETED}),
        (120, frozenset()),
    ]
    assert status.uidnext == 121
    assert inbox.expunge() == [117]
    assert [i.uid for i in inbox.messages()] == [100, 120]
    assert inbox.read(120) == b"Subject: c\r\n\r\nc\r\n"


def test_content_length_keeps_unquoted_from_lines_inside(tmp_path: Path) -> None:
    """Dovecot and mutt write Content-Length and leave "From " lines in bodies unquoted."""
    root = tmp_path / "mail"
    root.mkdir()
    (root / "inbox").write_bytes(
        b"From a Mon Nov  3 14:02:11 2025\nSubject: one\nContent-Length: 27\n\n"
        b"From here\n\nFrom there\nbody\n\n"
        b"From b Mon Nov  3 14:02:12 2025\nSubject: two\nContent-Length: 999\n\n"
        b"wrong length\n\nFrom c Mon Nov  3 14:02:13 2025\nSubject: three\n\nc\n"
    )
    inbox = MboxStore(root).folder("INBOX")
    # Content-Length is Dovecot's state, hidden from readers as Dovecot hides it.
    assert [inbox.read(i.uid) for i in inbox.messages()] == [
        b"Subject: one\r\n\r\nFrom here\r\n\r\nFrom there\r\nbody\r\n",
        b"Subject: two\r\n\r\nwrong length\r\n",
        b"Subject: three\r\n\r\nc\r\n",
    ]


def test_from_line_date_round_trips() -> None:
    line = from_line("alice@example.test", 1_700_000_000)
    assert line.startswith(b"From alice@example.test ")
    assert parse_from_date(line) == 1_700_000_000
    assert from_line("with space\n", 0).split()[1] == b"withspace"


def test_disk_uses_lf_only(tmp_path: Path) -> None:
    inbox = MboxStore(tmp_path / "mail").folder("INBOX")
    inbox.append(b"A: b\r\n\r\nline\r\nline\r\n")
    assert b"\r" not in (tmp_path / "mail" / "inbox").read_bytes()
    assert os.stat(tmp_path / "mail" / "inbox").st_mode & 0o777 == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give files to another user")
def test_files_made_for_a_mailbox_belong_to_its_owner(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    store = MboxStore(root, owner=(65534, 65534))
    store.ensure_defaults()
    store.create_folder("Archive.2024")
    store.folder("Archive.2024").append(b"S: x\r\n\r\nx\r\n", [DELETED])
    store.folder("Archive.2024").expunge()  # the rewritten file too
    made = [root, root / ".subscriptions", root / ".imap", root / ".imap" / "maa-index.sqlite"]
    made += [root / "inbox"]
    made += [root / "Archive", root / "Archive" / ".mbox", root / "Archive" / "2024"]
    assert {(p.name, p.stat().st_uid, p.stat().st_gid) for p in made} == {
        (p.name, 65534, 65534) for p in made
    }


def test_from_line_names_the_envelope_sender(tmp_path: Path) -> None:
    inbox = MboxStore(tmp_path / "mail").folder("INBOX")
    inbox.append(b"Return-Path: <alice@example.test>\r\nSubject: a\r\n\r\nx\r\n")
    inbox.append(b"Return-Path: <>\r\nSubject: bounce\r\n\r\nx\r\n")
    inbox.append(b"Subject: appended\r\n\r\nReturn-Path: <not@header.test>\r\n")
    lines = [
        line.split(b" ")[1]
        for line in (tmp_path / "mail" / "inbox").read_bytes().split(b"\n")
        if line.startswith(b"From ")
    ]
    assert lines == [b"alice@example.test", b"MAILER-DAEMON", b"MAILER-DAEMON"]


def test_an_index_from_the_old_place_is_moved_with_its_uids(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    store = MboxStore(root)
    inbox = store.folder("INBOX")
    for n in range(3):
        inbox.append(b"Subject: %d\r\n\r\nx\r\n" % n)
    inbox.store_flags([1], [DELETED], "add")
    assert inbox.expunge() == [1]
    status = inbox.status()
    store.close()
    os.rename(root / ".imap" / "maa-index.sqlite", root / ".maa-index.sqlite")  # as before
    (root / ".imap").rmdir()
    moved = MboxStore(root).folder("INBOX")
    assert [m.uid for m in moved.messages()] == [2, 3]
    assert moved.status().uidvalidity == status.uidvalidity
    assert moved.append(b"Subject: 4\r\n\r\nx\r\n") == 4
    assert not (root / ".maa-index.sqlite").exists()
    assert (root / ".imap" / "maa-index.sqlite").exists()
