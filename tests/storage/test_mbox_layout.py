"""Where mbox folders live on disk (Dovecot's mbox layout) and that nothing leads outside."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from maa.storage.interface import FolderNotFound, InvalidFolderName, StorageError
from maa.storage.mbox import MboxStore

MSG = b"Subject: layout\r\n\r\nbody\r\n"


def test_dovecot_mbox_layout_on_disk(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    store = MboxStore(root)
    store.ensure_defaults()
    store.create_folder("Archive.2024")
    store.create_folder("INBOX.Lists")
    store.create_folder("Entwürfe & Co")
    assert (root / "inbox").is_file()  # INBOX=<root>/inbox
    assert (root / "Archive" / "2024").is_file()  # levels are directories
    assert (root / "Archive" / ".mbox").is_file()  # Archive, a folder with children
    assert (root / "INBOX" / "Lists").is_file()  # INBOX's children beside the inbox file
    assert (root / "Entw&APw-rfe &- Co").is_file()  # modified UTF-7
    assert (root / ".subscriptions").read_text().split() == [
        "INBOX",
        "Drafts",
        "Sent",
        "Trash",
        "Junk",
    ]
    names = {f.name: f for f in store.list_folders()}
    assert {"INBOX", "Archive", "Archive.2024", "INBOX.Lists", "Entwürfe & Co"} <= set(names)
    assert names["Sent"].special_use == "\\Sent"


def test_a_folder_gains_children_and_keeps_its_messages(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    store = MboxStore(root)
    store.create_folder("Work")
    uid = store.folder("Work").append(MSG)
    store.create_folder("Work.Old")  # Work was a file; now a directory holding .mbox
    assert (root / "Work" / ".mbox").is_file()
    work = store.folder("Work")
    assert work.read(uid) == MSG
    assert work.append(MSG) == uid + 1
    # A crash between the two renames of that conversion is finished on the next open.
    store.create_folder("Home")
    staging = root / ".Home.maa-convert"
    staging.mkdir()
    os.rename(root / "Home", staging / ".mbox")
    again = MboxStore(root)
    assert (root / "Home" / ".mbox").is_file()
    assert "Home" in {f.name for f in again.list_folders()}


def test_symbolic_links_never_lead_out_of_the_mail_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"From x Mon Nov  3 14:02:11 2025\nSubject: secret\n\nx\n")
    root = tmp_path / "mail"
    store = MboxStore(root)
    os.symlink(outside / "secret", root / "evil")
    os.symlink(outside, root / "linked")
    names = {f.name for f in store.list_folders()}
    assert "evil" not in names and "linked" not in names
    with pytest.raises(FolderNotFound):
        store.folder("evil")
    with pytest.raises(FolderNotFound):
        store.folder("linked.secret")
    # A link put where a folder file was, after maa opened it, is not followed either.
    store.create_folder("Notes")
    notes = store.folder("Notes")
    os.unlink(root / "Notes")
    os.symlink(outside / "secret", root / "Notes")
    with pytest.raises(FolderNotFound):
        notes.append(MSG)
    assert (outside / "secret").read_bytes().count(b"From ") == 1


@pytest.mark.parametrize("name", ["a/b", "..", "a..b", ".hidden", "a.", "x\x00y", "a\nb"])
def test_names_that_could_escape_are_refused(tmp_path: Path, name: str) -> None:
    store = MboxStore(tmp_path / "mail")
    with pytest.raises(InvalidFolderName):
        store.create_folder(name)
    assert [n for n in os.listdir(tmp_path / "mail") if not n.startswith(".")] == []


def test_a_level_too_long_for_a_file_name_is_refused(tmp_path: Path) -> None:
    store = MboxStore(tmp_path / "mail")
    with pytest.raises(InvalidFolderName):
        store.create_folder("ü" * 200)  # 200 characters, far more bytes in modified UTF-7


def test_links_in_place_of_maa_files_are_not_followed(tmp_path: Path) -> None:
    """Root-run maa must not read or write another file through links a user left."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"root:$6$secret:19000:0:99999:7:::\n")
    root = tmp_path / "mail"
    root.mkdir()
    os.symlink(victim, root / ".subscriptions")
    os.symlink(victim, root / ".inbox.maa-append")
    os.symlink(victim, root / "inbox.lock")
    store = MboxStore(root, stale_lock_age=0)
    assert store.subscriptions() == []
    inbox = store.folder("INBOX")
    assert inbox.append(MSG) == 1  # the link "lock" is stale at once; the link intent ignored
    store.subscribe("INBOX")  # replaces the link with a real file
    assert store.subscriptions() == ["INBOX"]
    assert victim.read_bytes() == b"root:$6$secret:19000:0:99999:7:::\n"
    assert not (root / ".subscriptions").is_symlink()
    index_root = tmp_path / "other"
    index_root.mkdir()
    os.symlink(victim, index_root / ".maa-index.sqlite")
    with pytest.raises(StorageError):
        MboxStore(index_root)
    for link in ("index-link", "dir-link"):
        where = tmp_path / link
        (where / ".imap").parent.mkdir()
        if link == "dir-link":
            os.symlink(tmp_path, where / ".imap")
        else:
            (where / ".imap").mkdir()
            os.symlink(victim, where / ".imap" / "maa-index.sqlite")
        with pytest.raises(StorageError):
            MboxStore(where)
