"""What the Maildir driver leaves on disk, and how it picks up what others leave there."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from maa.storage import DELETED, FLAGGED, INBOX, SEEN, InvalidFolderName
from maa.storage.maildir import MaildirStore

MSG = b"From: a@example.test\r\nSubject: hi\r\n\r\nline one\r\nline two\r\n"
NAME = re.compile(r"^\d+\.M\d+P\d+Q\d+\.[^,:/]+,S=(\d+),W=(\d+)(:2,[A-Za-z]*)?$")


def files(path: Path) -> list[str]:
    return sorted(os.listdir(path))


def test_message_file_is_lf_with_sizes_in_name(root: Path, mstore: MaildirStore) -> None:
    uid = mstore.folder(INBOX).append(MSG)
    [name] = files(root / "new")
    match = NAME.match(name)
    assert match, name
    on_disk = (root / "new" / name).read_bytes()
    assert on_disk == MSG.replace(b"\r\n", b"\n")
    assert int(match.group(1)) == len(on_disk)
    assert int(match.group(2)) == len(MSG)
    assert files(root / "tmp") == []
    header, record = (root / "dovecot-uidlist").read_text().splitlines()
    assert re.fullmatch(r"3 V\d+ N\d+ G[0-9a-f]{32}", header)
    assert record == f"{uid} :{name}"


def test_flags_become_info_letters_and_keywords_file(root: Path, mstore: MaildirStore) -> None:
    inbox = mstore.folder(INBOX)
    uid = inbox.append(MSG, [SEEN, FLAGGED, "$Label1"])
    [name] = files(root / "cur")
    assert name.endswith(":2,FSa")
    assert (root / "dovecot-keywords").read_text() == "0 $Label1\n"
    inbox.store_flags([uid], ["Work", DELETED], "add")
    [name] = files(root / "cur")
    assert name.endswith(":2,FSTab")
    assert (root / "dovecot-keywords").read_text() == "0 $Label1\n1 Work\n"


def test_internal_date_is_the_mtime(root: Path, mstore: MaildirStore) -> None:
    mstore.folder(INBOX).append(MSG, internal_date=1_234_567_890)
    [name] = files(root / "new")
    assert os.stat(root / "new" / name).st_mtime == 1_234_567_890


def test_claim_recent_moves_new_to_cur(root: Path, mstore: MaildirStore) -> None:
    inbox = mstore.folder(INBOX)
    uid = inbox.append(MSG)
    assert inbox.claim_recent() == {uid}
    assert files(root / "new") == []
    [name] = files(root / "cur")
    assert name.endswith(":2,")
    assert inbox.read(uid) == MSG


def test_folders_on_disk_in_modified_utf7(root: Path, mstore: MaildirStore) -> None:
    mstore.create_folder("Entwürfe.Q&A")
    path = root / ".Entw&APw-rfe.Q&-A"
    assert (path / "cur").is_dir() and (path / "maildirfolder").exists()
    assert (root / ".Entw&APw-rfe" / "maildirfolder").exists()
    for special in ("Sent", "Drafts", "Trash", "Junk"):
        assert (root / f".{special}" / "maildirfolder").exists()


def test_subscriptions_file_is_dovecot_v2(root: Path, mstore: MaildirStore) -> None:
    mstore.subscribe("Entwürfe.Q&A")
    text = (root / "subscriptions").read_text()
    assert text.startswith("V\t2\n\n")
    assert "Entw&APw-rfe\tQ&-A\n" in text.split("\n\n", 1)[1]
    assert "Entwürfe.Q&A" in mstore.subscriptions()


def test_plain_subscriptions_file_is_read(root: Path, mstore: MaildirStore) -> None:
    (root / "subscriptions").write_text("INBOX\nLists.python\nEntw&APw-rfe\n")
    assert mstore.subscriptions() == [INBOX, "Lists.python", "Entwürfe"]


def test_delivery_by_another_mda_gets_next_uid(root: Path, mstore: MaildirStore) -> None:
    inbox = mstore.folder(INBOX)
    first = inbox.append(MSG)
    inbox.refresh()
    (root / "tmp" / "x").write_bytes(b"Subject: external\n\nbody\n")
    os.rename(root / "tmp" / "x", root / "new" / "1700000000.M1P1.other")  # no S=, no W=
    assert inbox.refresh() is True
    [_, info] = inbox.messages()
    assert info.uid == first + 1
    assert info.size == len(b"Subject: external\r\n\r\nbody\r\n")
    assert inbox.read(info.uid) == b"Subject: external\r\n\r\nbody\r\n"
    assert "1700000000.M1P1.other" in (root / "dovecot-uidlist").read_text()


def test_flag_rename_by_another_program_raises_modseq(root: Path, mstore: MaildirStore) -> None:
    inbox = mstore.folder(INBOX)
    uid = inbox.append(MSG, [SEEN])
    before = inbox.message(uid).modseq
    inbox.refresh()
    [name] = files(root / "cur")
    os.rename(root / "cur" / name, root / "cur" / name.replace(":2,S", ":2,FS"))
    assert inbox.refresh() is True
    info = inbox.message(uid)
    assert info.flags == {SEEN, FLAGGED}
    assert info.modseq > before


def test_file_removed_by_another_program_is_expunged(root: Path, mstore: MaildirStore) -> None:
    inbox = mstore.folder(INBOX)
    keep, gone = inbox.append(MSG), inbox.append(MSG)
    mark = inbox.status().highestmodseq
    inbox.refresh()
    victim = next(n for n in files(root / "new") if f" :{n}" in _uidlist_line(root, gone))
    os.unlink(root / "new" / victim)
    assert inbox.refresh() is True
    assert [m.uid for m in inbox.messages()] == [keep]
    assert inbox.vanished_since(mark) == [gone]
    assert f"{gone} :" not in (root / "dovecot-uidlist").read_text()


def _uidlist_line(root: Path, uid: int) -> str:
    for line in (root / "dovecot-uidlist").read_text().splitlines():
        if line.startswith(f"{uid} "):
            return line
    raise AssertionError(uid)


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_index_rebuilt_with_same_uids(root: Path, mstore: MaildirStore, damage: str) -> None:
    inbox = mstore.folder("Trash")
    uids = [inbox.append(MSG, [SEEN, "Work"]) for _ in range(3)]
    status = inbox.status()
    del inbox
    import gc

    gc.collect()  # close the index connection
    index = root / ".Trash" / "maa-index.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    if damage == "corrupt":
        index.write_bytes(b"this is not a database" * 100)
    again = MaildirStore(root).folder("Trash")
    assert [m.uid for m in again.messages()] == uids
    assert all(m.flags == {SEEN, "Work"} for m in again.messages())
    assert again.status().uidvalidity == status.uidvalidity
    assert again.status().uidnext == status.uidnext
    assert again.read(uids[1]) == MSG


def test_torn_uidlist_record_is_ignored_and_rewritten(root: Path, mstore: MaildirStore) -> None:
    inbox = mstore.folder(INBOX)
    uid = inbox.append(MSG)
    with open(root / "dovecot-uidlist", "a") as handle:
        handle.write("99 :half-writ")  # a crash in the middle of an append
    inbox.refresh()
    assert [m.uid for m in inbox.messages()] == [uid]
    second = inbox.append(MSG)
    assert second == uid + 1
    assert (root / "dovecot-uidlist").read_text().endswith("\n")
    assert "half-writ" not in (root / "dovecot-uidlist").read_text()


def test_existing_maildir_without_uidlist(tmp_path: Path) -> None:
    """A Maildir that Postfix or procmail filled: UIDs are handed out in name order."""
    root = tmp_path / "md"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    (root / "cur" / "1600000001.A.host:2,S").write_bytes(b"Subject: b\n\nb\n")
    (root / "new" / "1600000000.A.host").write_bytes(b"Subject: a\n\na\n")
    inbox = MaildirStore(root).folder(INBOX)
    infos = inbox.messages()
    assert [m.uid for m in infos] == [1, 2]
    assert inbox.read(1) == b"Subject: a\r\n\r\na\r\n"
    assert infos[1].flags == {SEEN}


def test_no_name_escapes_the_root(tmp_path: Path) -> None:
    root = tmp_path / "inside" / "Maildir"
    store = MaildirStore(root)
    store.ensure_defaults()
    for name in ("../../outside", "a/../../x", "..", ".x", "a..b", "x\x00y"):
        with pytest.raises(InvalidFolderName):
            store.create_folder(name)
        with pytest.raises(InvalidFolderName):
            store.rename_folder("Trash", name)
    assert sorted(os.listdir(tmp_path)) == ["inside"]
    assert sorted(os.listdir(tmp_path / "inside")) == ["Maildir"]


def test_dot_dot_directories_are_not_folders(root: Path, mstore: MaildirStore) -> None:
    shutil.copytree(root / ".Trash", root / "..sneaky")
    assert "..sneaky" not in {f.name for f in mstore.list_folders()}
    assert ".sneaky" not in {f.name for f in mstore.list_folders()}


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_owner_gets_created_files(tmp_path: Path) -> None:
    owner = (65534, 65534)
    root = tmp_path / "owned"
    store = MaildirStore(root, owner=owner)
    store.ensure_defaults()
    store.folder(INBOX).append(MSG, ["Work"])
    for dirpath, dirnames, filenames in os.walk(root):
        for entry in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
            st = os.stat(entry)
            assert (st.st_uid, st.st_gid) == owner, entry


def test_cached_listing_follows_own_and_other_connections(root: Path, mstore: MaildirStore) -> None:
    from maa.storage.maildir.folder import MaildirFolder
    from maa.storage.maildir.state import FolderState

    mine = mstore.folder(INBOX)
    first = mine.append(MSG)
    assert [m.uid for m in mine.messages()] == [first]
    # A second index connection on the same folder stands in for another process.
    other = MaildirFolder(FolderState(root, None), INBOX)
    theirs = other.append(MSG, [SEEN])
    other.store_flags([first], [FLAGGED], "add")
    assert {m.uid: m.flags for m in mine.messages()} == {first: {FLAGGED}, theirs: {SEEN}}
    third = mine.append(MSG)
    mine.store_flags([theirs], [DELETED], "add")
    assert mine.expunge() == [theirs]
    assert [m.uid for m in mine.messages()] == [first, third]
    assert [m.uid for m in other.messages()] == [first, third]
    assert other.message(first).flags == {FLAGGED}


def test_watchers_are_process_wide_per_folder(root: Path, mstore: MaildirStore) -> None:
    calls: list[int] = []
    mstore.folder("Sent").watch(lambda: calls.append(1))
    MaildirStore(root).folder("Sent").append(MSG)  # another store object, same folder
    assert calls == [1]


def test_copy_to_another_driver_streams(root: Path, mstore: MaildirStore) -> None:
    from maa.storage import open_store

    other = open_store(f"memory:{root}-copy-target").folder(INBOX)
    uid = mstore.folder(INBOX).append(MSG, [FLAGGED, "Work"], internal_date=1_400_000_000)
    [(source, target)] = mstore.folder(INBOX).copy([uid], other)
    assert source == uid
    copied = other.message(target)
    assert copied.flags == {FLAGGED, "Work"} and copied.internal_date == 1_400_000_000
    assert other.read(target) == MSG


def test_copy_within_maildir_hard_links(root: Path, mstore: MaildirStore) -> None:
    uid = mstore.folder(INBOX).append(MSG, [SEEN])
    [(_, target)] = mstore.folder(INBOX).copy([uid], mstore.folder("Trash"))
    [source_name] = files(root / "cur")
    [target_name] = files(root / ".Trash" / "cur")
    assert (
        os.stat(root / "cur" / source_name).st_ino
        == os.stat(root / ".Trash" / "cur" / target_name).st_ino
    )
    assert mstore.folder("Trash").read(target) == MSG


def test_files_a_crash_left_in_tmp_are_removed_after_36_hours(tmp_path: Path) -> None:
    root = tmp_path / "md"
    MaildirStore(root).ensure_defaults()
    old = root / ".Sent" / "tmp" / "1600000000.M1P99Q1.host"
    fresh = root / ".Sent" / "tmp" / "1600000000.M2P99Q2.host"
    for path in (old, fresh):
        path.write_bytes(b"Subject: half a mess")
    two_days_ago = time.time() - 48 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    MaildirStore(root).folder("Sent").append(b"Subject: whole\r\n\r\nx\r\n")
    assert sorted(p.name for p in (root / ".Sent" / "tmp").iterdir()) == [fresh.name]
