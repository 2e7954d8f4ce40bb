"""Views of a large folder start from one shared numbering; each must stay its own."""

from __future__ import annotations

from pathlib import Path

from maa.imap import selected
from maa.imap.selected import SelectedView
from maa.storage.interface import INBOX
from maa.storage.maildir import MaildirStore


def large_inbox(tmp_path: Path) -> MaildirStore:
    root = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    for n in range(selected._NUMBERING_FROM + 10):
        body = b"Subject: %d\n\nx\n" % n
        (root / "cur" / f"{1_700_000_000 + n}.M{n}P1.test,S={len(body)}:2,S").write_bytes(body)
    return MaildirStore(root)


def test_views_share_a_numbering_but_not_its_changes(tmp_path: Path) -> None:
    folder = large_inbox(tmp_path).folder(INBOX)
    first = SelectedView(folder, readonly=False, on_change=lambda: None)
    second = SelectedView(folder, readonly=True, on_change=lambda: None)
    assert first.uids == second.uids and first.uids is not second.uids
    assert first.infos == second.infos and first.infos is not second.infos
    gone = first.uids[5]
    first.remove([gone])
    first.keywords.add("$Mine")
    assert gone not in first.infos and gone in second.infos
    assert len(second.uids) == len(first.uids) + 1
    third = SelectedView(folder, readonly=True, on_change=lambda: None)
    assert gone in third.infos and "$Mine" not in third.keywords
    # A change makes a new message list, and views made after it number that one.
    folder.store_flags([gone], ["$Label1"], "add")
    fourth = SelectedView(folder, readonly=True, on_change=lambda: None)
    assert "$Label1" in fourth.keywords and "$Label1" in fourth.infos[gone].flags
