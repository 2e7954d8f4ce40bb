"""The storage contract (maa/storage/interface.py), run over every driver."""

from __future__ import annotations

import hashlib
import io
import random
import re
import threading
import time
import tracemalloc
from collections.abc import Callable

import pytest

from maa.storage import (
    ANSWERED,
    DELETED,
    DRAFT,
    FLAGGED,
    INBOX,
    SEEN,
    SPECIAL_FOLDERS,
    FolderExists,
    FolderNotFound,
    InvalidFolderName,
    MailStore,
    MessageNotFound,
)
from maa.storage.maildir.durable import CAN_SYNC_FILESYSTEM

MSG = b"From: a@example.test\r\nSubject: hello\r\n\r\nbody line\r\n"


def test_inbox_exists_case_insensitively(store: MailStore) -> None:
    assert store.folder("inbox").name == INBOX
    assert store.folder("InBoX").status().messages == 0


def test_ensure_defaults_makes_special_folders_subscribed(store: MailStore) -> None:
    store.ensure_defaults()  # idempotent
    infos = {f.name: f for f in store.list_folders()}
    assert INBOX in infos
    for name, role in SPECIAL_FOLDERS.items():
        assert infos[name].special_use == role
        assert infos[name].selectable
    assert set(store.subscriptions()) >= {INBOX, *SPECIAL_FOLDERS}
    assert infos[INBOX].special_use is None


def test_append_and_read_back(store: MailStore) -> None:
    inbox = store.folder(INBOX)
    before = inbox.status()
    uid = inbox.append(MSG, [SEEN, "$Label1"], internal_date=1_700_000_000)
    info = inbox.message(uid)
    assert info.uid == uid
    assert info.flags == {SEEN, "$Label1"}
    assert info.size == len(MSG)
    assert info.internal_date == 1_700_000_000
    assert info.modseq > before.highestmodseq
    assert inbox.read(uid) == MSG
    assert inbox.read(uid, 6, 13) == MSG[6:19]
    assert inbox.read(uid, len(MSG) + 5) == b""
    with inbox.open(uid) as stream:
        assert stream.read() == MSG
    status = inbox.status()
    assert status.messages == 1
    assert status.unseen == 0
    assert status.uidnext == uid + 1
    assert status.uidvalidity == before.uidvalidity
    assert [m.uid for m in inbox.messages()] == [uid]


def test_begin_append_saves_as_append_does_or_declines(store: MailStore, driver: str) -> None:
    inbox = store.folder(INBOX)
    first = inbox.append(MSG)
    started = [inbox.begin_append(MSG + bytes([n]), [SEEN] if n % 2 else []) for n in range(5)]
    # mbox appends wait for locks, a Maildir without syncfs fsyncs each file before naming
    # it: those decline, and write nothing.
    if driver == "mbox" or (driver == "maildir" and not CAN_SYNC_FILESYSTEM):
        assert started == [None] * 5
        assert [m.uid for m in inbox.messages()] == [first]
        return
    assert None not in started
    uids = [future.result(30) for future in started if future is not None]
    assert len(set(uids)) == 5 and min(uids) > first
    for n, uid in enumerate(uids):
        assert inbox.read(uid) == MSG + bytes([n])
        assert inbox.message(uid).flags == ({SEEN} if n % 2 else set())
    assert [m.uid for m in inbox.messages()] == [first, *sorted(uids)]


def test_append_from_stream_with_lf_line_ends(store: MailStore) -> None:
    inbox = store.folder(INBOX)
    uid = inbox.append(io.BytesIO(MSG.replace(b"\r\n", b"\n")))
    assert inbox.read(uid) == MSG
    assert inbox.message(uid).size == len(MSG)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"Subject: 8bit\r\n\r\n\xe9\xff\x00\x80 bytes\r\n", id="binary-8bit"),
        pytest.param(b"Subject: cr\r\n\r\nlone\rcarriage return\r\n", id="lone-cr"),
        pytest.param(b"Subject: x\r\n\r\nno final newline", id="no-final-newline"),
        pytest.param(b"Subject: x\r\n\r\nends in cr\r", id="final-lone-cr"),
        pytest.param(b"\r\n", id="only-crlf"),
    ],
)
def test_crlf_form_byte_exact(store: MailStore, raw: bytes) -> None:
    inbox = store.folder(INBOX)
    uid = inbox.append(raw)
    assert inbox.read(uid) == raw
    assert inbox.message(uid).size == len(raw)
    with inbox.open(uid) as stream:
        assert stream.read() == raw


def _random_bodies() -> list[bytes]:
    """Seeded random messages rich in CR and LF (a fixed set: fixtures and hypothesis do not
    mix under pytest-twisted; the hypothesis version lives in test_storage_lineends.py)."""
    rng = random.Random(7)
    pieces = [b"\r", b"\n", b"\r\n", b"x", b"\xff", b"\x00", b" ", b"From "]
    return [b"".join(rng.choice(pieces) for _ in range(rng.randrange(60))) for _ in range(25)]


def _line_ends_dropped(data: bytes) -> bytes:
    return re.sub(rb"\r*\n", b"\n", data)


def test_any_bytes_round_trip_to_the_normalized_form(store: MailStore) -> None:
    inbox = store.folder(INBOX)
    for body in _random_bodies():
        uid = inbox.append(body)
        stored = inbox.read(uid)
        # CRLF form, the same message; a CR right before a line end is the one byte a driver
        # storing LF may drop (Dovecot's rule), so compare after normalizing both.
        assert b"\n" not in stored.replace(b"\r\n", b"")
        assert _line_ends_dropped(stored) == _line_ends_dropped(body)
        assert inbox.message(uid).size == len(stored)


def test_uids_ascend_and_are_never_reused(store: MailStore) -> None:
    inbox = store.folder(INBOX)
    uids = [inbox.append(MSG) for _ in range(3)]
    assert uids == sorted(uids) and len(set(uids)) == 3
    inbox.store_flags(uids[2:], [DELETED], "add")
    assert inbox.expunge() == [uids[2]]
    assert inbox.append(MSG) > uids[2]


def test_flags_and_keywords_round_trip(store: MailStore) -> None:
    inbox = store.folder(INBOX)
    uid = inbox.append(MSG)
    all_flags = {SEEN, ANSWERED, FLAGGED, DRAFT, DELETED, "$Forwarded", "$Label1", "Work"}
    changed, refused = inbox.store_flags([uid], all_flags, "set")
    assert refused == []
    assert [c.flags for c in changed] == [all_flags]
    assert inbox.message(uid).flags == all_flags
    inbox.store_flags([uid], [SEEN, "Work"], "remove")
    assert inbox.message(uid).flags == all_flags - {SEEN, "Work"}
    inbox.store_flags([uid], ["Work"], "add")
    assert "Work" in inbox.message(uid).flags
    inbox.store_flags([uid], [], "set")
    assert inbox.message(uid).flags == frozenset()


def test_modseq_rises_on_every_change(store: MailStore) -> None:
    inbox = store.folder(INBOX)
    seen = [inbox.status().highestmodseq]
    uid = inbox.append(MSG)
    seen.append(inbox.status().highestmodseq)
    assert inbox.message(uid).modseq == seen[-1]
    changed, _ = inbox.store_flags([uid], [SEEN], "add")
    assert changed[0].modseq > seen[-1]
    seen.append(inbox.status().highestmodseq)
    assert inbox.message(uid).modseq == seen[-1]
    # A store that changes nothing does not raise MODSEQ.
    assert inbox.store_flags([uid], [SEEN], "add") == ([], [])
    assert inbox.status().highestmodseq == seen[-1]
    inbox.store_flags([uid], [DELETED], "add")
    seen.append(inbox.status().highestmodseq)
    inbox.expunge()
    seen.append(inbox.status().highestmodseq)
    assert seen == sorted(seen) and len(set(seen)) == len(seen)


def test_unchangedsince(store: MailStore) -> None:
    inbox = store.folder(INBOX)
    a, b = inbox.append(MSG), inbox.append(MSG)
    mark = inbox.status().highestmodseq
    inbox.store_flags([b], [FLAGGED], "add")
    changed, refused = inbox.store_flags([a, b, 999], [SEEN], "add", unchanged_since=mark)
    assert [c.uid for c in changed] == [a]
    assert refused == [b]
    assert SEEN not in inbox.message(b).flags


def test_store_ignores_missing_uids(store: MailStore) -> None:
    inbox = store.folder(INBOX)
    assert inbox.store_flags([42], [SEEN], "add") == ([], [])
    with pytest.raises(MessageNotFound):
        inbox.message(42)
    with pytest.raises(MessageNotFound):
        inbox.read(42)


def test_expunge_and_vanished_since(store: MailStore) -> None:
    inbox = store.folder(INBOX)
    uids = [inbox.append(MSG) for _ in range(4)]
    mark = inbox.status().highestmodseq
    inbox.store_flags(uids[:3], [DELETED], "add")
    assert inbox.expunge([uids[0], uids[3]]) == [uids[0]]  # uids[3] not \Deleted
    assert inbox.expunge() == uids[1:3]
    assert [m.uid for m in inbox.messages()] == [uids[3]]
    assert inbox.vanished_since(mark) == uids[:3]
    assert inbox.vanished_since(inbox.status().highestmodseq) == []
    with pytest.raises(MessageNotFound):
        inbox.read(uids[0])
    assert inbox.status().messages == 1


def test_copy_keeps_flags_and_dates(store: MailStore) -> None:
    inbox, archive = store.folder(INBOX), store.folder("Trash")
    uid = inbox.append(MSG, [FLAGGED, "$Label2"], internal_date=1_600_000_000)
    pairs = inbox.copy([uid, 999], archive)
    assert [p[0] for p in pairs] == [uid]
    copied = archive.message(pairs[0][1])
    assert copied.flags == {FLAGGED, "$Label2"}
    assert copied.internal_date == 1_600_000_000
    assert archive.read(copied.uid) == MSG
    assert inbox.message(uid).flags == {FLAGGED, "$Label2"}


def test_move_expunges_source_even_without_deleted(store: MailStore) -> None:
    inbox, junk = store.folder(INBOX), store.folder("Junk")
    mark = inbox.status().highestmodseq
    uids = [inbox.append(MSG, [SEEN], internal_date=1_500_000_000) for _ in range(2)]
    pairs = inbox.move(uids, junk)
    assert [p[0] for p in pairs] == uids
    assert len(inbox.messages()) == 0
    assert inbox.vanished_since(mark) == uids
    for _, new in pairs:
        assert junk.message(new).flags == {SEEN}
        assert junk.message(new).internal_date == 1_500_000_000
        assert junk.read(new) == MSG


def test_claim_recent_once(make_store: Callable[[str], MailStore]) -> None:
    store = make_store("user")
    inbox = store.folder(INBOX)
    uid = inbox.append(MSG)
    assert inbox.status().recent == 1
    assert uid in inbox.claim_recent()
    assert inbox.claim_recent() == frozenset()
    assert store.folder(INBOX).claim_recent() == frozenset()
    assert inbox.status().recent == 0
    later = inbox.append(MSG, [SEEN])
    assert make_store("user").folder(INBOX).claim_recent() == {later}


def test_cache_round_trip(store: MailStore) -> None:
    inbox = store.folder(INBOX)
    uid = inbox.append(MSG)
    assert inbox.get_cached(uid, "envelope") is None
    inbox.set_cached(uid, "envelope", b'(NIL "hello")')
    assert inbox.get_cached(uid, "envelope") == b'(NIL "hello")'
    assert store.folder(INBOX).get_cached(uid, "envelope") == b'(NIL "hello")'
    inbox.store_flags([uid], [DELETED], "add")
    inbox.expunge()
    assert inbox.get_cached(uid, "envelope") is None


def test_watch_callbacks_shared_by_folder_objects(store: MailStore) -> None:
    calls: list[str] = []
    unsubscribe = store.folder(INBOX).watch(lambda: calls.append("a"))
    other = store.folder("inbox")
    uid = other.append(MSG)
    assert calls == ["a"]
    other.store_flags([uid], [DELETED], "add")
    assert calls == ["a", "a"]
    other.expunge()
    assert calls == ["a", "a", "a"]
    unsubscribe()
    other.append(MSG)
    assert calls == ["a", "a", "a"]


def test_watch_called_from_delivery_thread(store: MailStore) -> None:
    event = threading.Event()
    store.folder(INBOX).watch(event.set)
    worker = threading.Thread(target=lambda: store.folder(INBOX).append(MSG))
    worker.start()
    worker.join()
    assert event.is_set()


def test_refresh_reports_nothing_when_nothing_changed(store: MailStore) -> None:
    inbox = store.folder(INBOX)
    inbox.append(MSG)
    inbox.refresh()
    assert inbox.refresh() is False


def test_create_list_delete(store: MailStore) -> None:
    store.create_folder("Archive.2024.Q1")
    infos = {f.name: f for f in store.list_folders()}
    assert infos["Archive.2024.Q1"].selectable
    assert "Archive" in infos and "Archive.2024" in infos
    with pytest.raises(FolderExists):
        store.create_folder("Archive.2024.Q1")
    with pytest.raises(FolderExists):
        store.create_folder("inbox")
    store.folder("Archive.2024.Q1").append(MSG)
    store.delete_folder("Archive.2024.Q1")
    with pytest.raises(FolderNotFound):
        store.folder("Archive.2024.Q1")
    with pytest.raises(FolderNotFound):
        store.delete_folder("Nope")
    with pytest.raises(InvalidFolderName):
        store.delete_folder("INBOX")
    store.create_folder("Archive.2024.Q1")
    assert len(store.folder("Archive.2024.Q1").messages()) == 0


def test_delete_parent_leaves_children(store: MailStore, driver: str) -> None:
    store.create_folder("a.b")
    store.delete_folder("a")
    infos = {f.name: f for f in store.list_folders()}
    assert infos["a.b"].selectable and infos["a.b"].exists
    assert "a" in infos and not infos["a"].selectable
    # IMAP lists a as \Noselect where it exists (an mbox directory, which a.b's file needs)
    # and as \NonExistent where it is only a part of a.b's name (Maildir++ keeps .a.b alone).
    assert infos["a"].exists == (driver == "mbox")
    assert all(info.exists for info in infos.values() if info.name != "a")
    with pytest.raises(FolderNotFound):
        store.folder("a")


def test_unicode_folder_names(store: MailStore) -> None:
    store.create_folder("Entwürfe.Ärger & Co")
    assert "Entwürfe.Ärger & Co" in {f.name for f in store.list_folders()}
    uid = store.folder("Entwürfe.Ärger & Co").append(MSG)
    assert store.folder("Entwürfe.Ärger & Co").read(uid) == MSG


def test_rename_with_children(store: MailStore) -> None:
    store.create_folder("Work.Projects")
    uid = store.folder("Work.Projects").append(MSG, [FLAGGED])
    store.folder("Work").append(MSG)
    store.rename_folder("Work", "Job")
    names = {f.name for f in store.list_folders()}
    assert "Work" not in names and "Work.Projects" not in names
    assert {"Job", "Job.Projects"} <= names
    assert store.folder("Job.Projects").message(uid).flags == {FLAGGED}
    assert store.folder("Job").status().messages == 1
    with pytest.raises(FolderNotFound):
        store.rename_folder("Work", "Other")
    with pytest.raises(FolderExists):
        store.rename_folder("Job", "Trash")
    with pytest.raises(InvalidFolderName):
        store.rename_folder("Job", "Job.Projects.Inner")


def test_rename_inbox_moves_messages_and_leaves_it_empty(store: MailStore) -> None:
    inbox = store.folder(INBOX)
    uid = inbox.append(MSG, [SEEN])
    store.rename_folder("INBOX", "Old Mail")
    assert len(store.folder(INBOX).messages()) == 0
    old = store.folder("Old Mail")
    [info] = old.messages()
    assert info.flags == {SEEN}
    assert old.read(info.uid) == MSG
    assert uid >= 1
    store.folder(INBOX).append(MSG)
    assert store.folder(INBOX).status().messages == 1


def test_subscriptions(store: MailStore) -> None:
    store.create_folder("Lists.python")
    store.subscribe("Lists.python")
    store.subscribe("Lists.python")
    store.subscribe("Not.Existing")  # RFC 3501 allows subscribing to absent names
    subs = store.subscriptions()
    assert subs.count("Lists.python") == 1 and "Not.Existing" in subs
    store.unsubscribe("Lists.python")
    store.unsubscribe("never-subscribed")
    assert "Lists.python" not in store.subscriptions()


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "a..b",
        ".hidden",
        "a.",
        "a/b",
        "../etc",
        "a/../../b",
        "a\x00b",
        "a\nb",
        "a. b",
        "..",
        "a...b",
    ],
)
def test_names_escaping_the_mail_root_are_refused(store: MailStore, name: str) -> None:
    with pytest.raises(InvalidFolderName):
        store.create_folder(name)
    with pytest.raises(InvalidFolderName):
        store.folder(name)
    with pytest.raises(InvalidFolderName):
        store.rename_folder("Trash", name)
    with pytest.raises(InvalidFolderName):
        store.subscribe(name)


def test_concurrent_appends_get_unique_uids(store: MailStore) -> None:
    inbox = store.folder(INBOX)
    results: list[int] = []
    lock = threading.Lock()

    def deliver(n: int) -> None:
        for i in range(5):
            uid = store.folder(INBOX).append(b"Subject: %d-%d\r\n\r\nx\r\n" % (n, i))
            with lock:
                results.append(uid)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 40
    assert sorted(m.uid for m in inbox.messages()) == sorted(results)
    bodies = {inbox.read(uid).split(b"\r\n")[0] for uid in results}
    assert len(bodies) == 40


def test_internal_date_defaults_to_now(store: MailStore) -> None:
    inbox = store.folder(INBOX)
    before = time.time()
    uid = inbox.append(MSG)
    assert before - 2 <= inbox.message(uid).internal_date <= time.time() + 1


class _LazyMessage(io.RawIOBase):
    """``total`` bytes of a message, made as they are read (never all in memory)."""

    LINE = b"0123456789" * 7 + b"abcdef\xe9\r\n"

    def __init__(self, total: int) -> None:
        super().__init__()
        self.header = b"Subject: big\r\n\r\n"
        self.total = total
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.total - self.position)
        if n <= 0:
            return 0
        data = bytearray()
        while len(data) < n:
            offset = self.position + len(data)
            if offset < len(self.header):
                data += self.header[offset:]
            else:
                start = (offset - len(self.header)) % len(self.LINE)
                data += self.LINE[start:]
        buffer[:n] = data[:n]
        self.position += n
        return n


@pytest.mark.slow
def test_large_message_streamed_with_flat_memory(store: MailStore, driver: str) -> None:
    if driver == "memory":
        pytest.skip("the in-memory driver keeps messages in memory by design")
    total = 20 * 1024 * 1024
    expected = hashlib.sha256()
    source = _LazyMessage(total)
    while chunk := source.read(1 << 20):
        expected.update(chunk)
    inbox = store.folder(INBOX)
    tracemalloc.start()
    try:
        uid = inbox.append(io.BufferedReader(_LazyMessage(total), 1 << 16))
        digest = hashlib.sha256()
        size = 0
        with inbox.open(uid) as stream:
            while chunk := stream.read(1 << 16):
                digest.update(chunk)
                size += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert size == total == inbox.message(uid).size
    assert digest.hexdigest() == expected.hexdigest()
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes for a {total}-byte message"


def test_handle_of_a_deleted_folder_says_not_found(store: MailStore) -> None:
    store.create_folder("Doomed")
    handle = store.folder("Doomed")
    handle.append(MSG)
    store.delete_folder("Doomed")
    with pytest.raises(FolderNotFound):
        handle.append(MSG)
    with pytest.raises(FolderNotFound):
        handle.status()
