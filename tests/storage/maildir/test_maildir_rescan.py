"""The Maildir rescan trusts this process's own renames and nothing else: a change made by
another writer (Dovecot, a second maa) right after ours, in the same second and so with the
directory mtime telling nothing new, is still found by the next refresh."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from maa.storage.interface import FLAGGED, SEEN
from maa.storage.maildir import MaildirStore, scan
from maa.storage.maildir.folder import MaildirFolder
from maa.storage.maildir.scan import dirty_subdirs, to_list, untrusted

MESSAGE = b"From: a@example.test\r\nSubject: hello\r\n\r\nbody\r\n"


def folder_with(mstore: MaildirStore, count: int) -> tuple[MaildirFolder, list[int]]:
    folder = mstore.folder("INBOX")
    uids = [folder.append(MESSAGE) for _ in range(count)]
    folder.claim_recent()  # new/ to cur/, as the first IMAP session does
    folder.refresh()
    return folder, uids


def file_of(root: Path, folder: MaildirFolder, uid: int) -> Path:
    row = folder._state.rows()[uid]
    return root / row.subdir / row.filename


def outside_rename(path: Path, letters: str) -> Path:
    """What Dovecot does for a flag change: a rename to the new info letters."""
    base = path.name.partition(":2,")[0]
    target = path.parent.parent / "cur" / f"{base}:2,{letters}"
    os.rename(path, target)
    return target


def flags(folder: MaildirFolder, uid: int) -> frozenset[str]:
    return {i.uid: i for i in folder.messages()}[uid].flags


def test_own_rename_needs_no_index_work_on_the_next_rescan(
    root: Path, mstore: MaildirStore
) -> None:
    folder, uids = folder_with(mstore, 3)
    folder.store_flags([uids[0]], [SEEN], "add")
    # The directory changed (our rename), so it is listed again; the names already match
    # what the index holds, so nothing is written.
    assert folder._state.sync(force=True) is False
    assert flags(folder, uids[0]) == {SEEN}


def test_outside_rename_right_after_our_store_is_seen(root: Path, mstore: MaildirStore) -> None:
    folder, uids = folder_with(mstore, 3)
    folder.store_flags([uids[0]], [SEEN], "add")
    outside_rename(file_of(root, folder, uids[1]), "F")
    assert folder.refresh() is True
    assert flags(folder, uids[0]) == {SEEN}
    assert flags(folder, uids[1]) == {FLAGGED}
    assert folder.messages()[1].modseq > folder.messages()[0].modseq


def test_outside_rename_of_the_message_we_just_renamed_is_seen(
    root: Path, mstore: MaildirStore
) -> None:
    folder, uids = folder_with(mstore, 2)
    folder.store_flags([uids[0]], [SEEN], "add")
    outside_rename(file_of(root, folder, uids[0]), "FS")
    folder.refresh()
    assert flags(folder, uids[0]) == {SEEN, FLAGGED}
    # And our next change starts from the outside name.
    folder.store_flags([uids[0]], [FLAGGED], "remove")
    assert flags(folder, uids[0]) == {SEEN}
    assert file_of(root, folder, uids[0]).exists()


def test_outside_delivery_and_expunge_right_after_our_store_are_seen(
    root: Path, mstore: MaildirStore
) -> None:
    folder, uids = folder_with(mstore, 3)
    folder.store_flags([uids[0]], [SEEN], "add")
    os.unlink(file_of(root, folder, uids[2]))
    (root / "new" / "1700000000.M1P1.elsewhere").write_bytes(MESSAGE)
    folder.refresh()
    got = [i.uid for i in folder.messages()]
    assert got[:2] == uids[:2] and len(got) == 3 and got[2] > uids[2]
    assert folder.status().messages == 3
    assert uids[2] in folder.vanished_since(0)


def test_a_refreshed_folder_answers_from_its_last_refresh(root: Path, mstore: MaildirStore) -> None:
    folder, uids = folder_with(mstore, 2)
    before = folder.status()
    outside_rename(file_of(root, folder, uids[1]), "S")
    # Until its holder refreshes (an IMAP session: at its next command), nothing moves.
    assert folder.status() == before
    assert flags(folder, uids[1]) == frozenset()
    folder.refresh()
    assert flags(folder, uids[1]) == {SEEN}
    assert folder.status().unseen == before.unseen - 1
    # A folder nobody refreshes (a STATUS command's) looks at the disk each time.
    outside_rename(file_of(root, folder, uids[0]), "S")
    assert mstore.folder("INBOX").status().unseen == 0


def test_dot_files_in_cur_are_no_messages(root: Path, mstore: MaildirStore) -> None:
    folder, uids = folder_with(mstore, 1)
    folder.store_flags([uids[0]], [SEEN], "add")
    (root / "cur" / ".nfs000000001").write_bytes(b"x")
    folder.refresh()
    assert [i.uid for i in folder.messages()] == uids
    os.unlink(root / "cur" / ".nfs000000001")
    assert folder._state.sync(force=True) is False


def test_counts_follow_our_flag_changes_without_a_recount(root: Path, mstore: MaildirStore) -> None:
    folder, uids = folder_with(mstore, 4)
    assert folder.status().unseen == 4
    folder.store_flags(uids[:3], [SEEN], "add")
    status = folder.status()
    assert (status.unseen, status.messages) == (1, 4)
    assert status.highestmodseq == max(i.modseq for i in folder.messages())
    # What a recount from the index says, through a state nobody patched.
    fresh = mstore.folder("INBOX")._state
    fresh.invalidate()
    assert fresh.status() == status


def test_cached_values_are_written_in_batches_and_read_back(
    root: Path, mstore: MaildirStore
) -> None:
    folder, uids = folder_with(mstore, 3)
    for uid in uids:
        folder.set_cached(uid, "fields:SUBJECT", b"Subject: %d\r\n\r\n" % uid)
    # Served before they are written, then written by the next refresh.
    assert folder.get_cached(uids[1], "fields:SUBJECT") == b"Subject: %d\r\n\r\n" % uids[1]
    folder.refresh()
    other = MaildirStore(root).folder("INBOX")
    got = [other.get_cached(uid, "fields:SUBJECT") for uid in uids]  # in UID order: read ahead
    assert got == [b"Subject: %d\r\n\r\n" % uid for uid in uids]
    # A value set for a message expunged meanwhile is not kept.
    folder.store_flags([uids[2]], ["\\Deleted"], "add")
    folder.set_cached(uids[2], "fields:DATE", b"Date: x\r\n\r\n")
    folder.expunge()
    folder.refresh()
    assert folder._state.index.get_cached(uids[2], "fields:DATE") is None


def age_directory(path: Path, seconds: float) -> int:
    """Give ``path`` an mtime ``seconds`` ago (sub-second, as ext4 keeps); its new mtime."""
    mtime_ns = time.time_ns() - int(seconds * 1e9)
    mtime_ns -= mtime_ns % 1000 - 123  # never a whole second
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return mtime_ns


def outside_file(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_bytes(MESSAGE.replace(b"\r\n", b"\n"))
    return path


def test_a_delivery_into_new_does_not_list_a_trusted_cur_again(
    root: Path, mstore: MaildirStore
) -> None:
    folder, uids = folder_with(mstore, 3)
    old = age_directory(root / "cur", 60)
    folder._state.sync(force=True)  # cur/ now recorded as clean
    # A name slipped into cur/ with its mtime put back: only a listing of cur/ finds it.
    outside_file(root / "cur", "1700000000.M1P1.elsewhere:2,S")
    os.utime(root / "cur", ns=(old, old))
    outside_file(root / "new", "1700000001.M2P2.elsewhere")
    assert folder.refresh() is True
    assert len(folder.messages()) == len(uids) + 1  # new/ was listed, cur/ was not
    # Once cur/ really changes, it is listed and the other name found.
    os.utime(root / "cur")
    folder.refresh()
    assert len(folder.messages()) == len(uids) + 2


def test_a_directory_changed_within_the_tick_is_listed_again(
    root: Path, mstore: MaildirStore
) -> None:
    folder, uids = folder_with(mstore, 2)
    recent = age_directory(root / "cur", 0.01)
    folder._state.sync(force=True)  # listed, but too recently changed to be trusted
    # A change in the same timestamp tick: the stamp does not move.
    outside_file(root / "cur", "1700000000.M1P1.elsewhere:2,S")
    os.utime(root / "cur", ns=(recent, recent))
    assert folder.refresh() is True
    assert len(folder.messages()) == len(uids) + 1


def test_whole_second_timestamps_are_trusted_only_after_two_seconds() -> None:
    now = 1_700_000_010.0
    assert untrusted("1700000009000000000:4096:7", now)  # 1 s ago, whole seconds
    assert not untrusted("1700000007000000000:4096:7", now)
    assert untrusted("1700000009950000001:4096:7", now)  # 50 ms ago
    assert not untrusted("1700000009800000001:4096:7", now)
    assert not untrusted("-", now)


def test_directories_to_list() -> None:
    recorded = "1:1:1|2:2:2|3:3:3"
    assert to_list(recorded, set(), recorded) == ()
    assert to_list(recorded, {"cur"}, recorded) == ("cur",)
    assert to_list(recorded, set(), "9:9:9|2:2:2|3:3:3") == ("new",)
    assert to_list(recorded, set(), "1:1:1|2:2:2|4:4:4") == ("new", "cur")
    assert to_list(None, set(), recorded) == ("new", "cur")
    assert dirty_subdirs("0") == set()
    assert dirty_subdirs("1") == {"new", "cur"}
    assert dirty_subdirs("cur") == {"cur"}


def test_listing_after_our_own_change_is_put_off_but_done(
    root: Path, mstore: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "DEFER_SECS", 0.3)
    folder, uids = folder_with(mstore, 3)
    folder.store_flags([uids[0]], [SEEN], "add")
    folder.refresh()
    ours = os.stat(root / "cur").st_mtime_ns
    # Another writer's rename within the same timestamp tick as ours: the stamp stays.
    moved = outside_rename(file_of(root, folder, uids[1]), "F")
    os.utime(root / "cur", ns=(ours, ours))
    assert folder.refresh() is False  # cur/ not listed again yet
    time.sleep(0.35)
    assert folder.refresh() is True
    assert flags(folder, uids[1]) == {FLAGGED}
    assert moved.exists()


def test_a_change_after_ours_is_listed_at_once(
    root: Path, mstore: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "DEFER_SECS", 60)
    folder, uids = folder_with(mstore, 3)
    folder.store_flags([uids[0]], [SEEN], "add")
    outside_rename(file_of(root, folder, uids[1]), "F")
    later = time.time_ns() + 5_000_000
    os.utime(root / "cur", ns=(later, later))  # the stamp moved past our change's
    assert folder.refresh() is True
    assert flags(folder, uids[1]) == {FLAGGED}
