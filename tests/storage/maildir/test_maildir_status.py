"""The Maildir driver keeps a folder's figures up to date after its own changes without
counting again; they must stay what a count from the index gives."""

from __future__ import annotations

from pathlib import Path

from maa.storage.interface import DELETED, SEEN
from maa.storage.maildir import MaildirStore
from maa.storage.maildir.folder import MaildirFolder

MESSAGE = b"From: a@example.test\r\nSubject: hello\r\n\r\nbody\r\n"


def counted(folder: MaildirFolder) -> tuple[int, int, int]:
    state = folder._state
    first = state.index.meta_int("first_recent_uid", 1)
    return state.index.counts(first)


def figures(folder: MaildirFolder) -> tuple[int, int, int]:
    status = folder.status()
    return status.messages, status.unseen, status.recent


def test_figures_follow_appends_claims_stores_and_expunges(
    root: Path, mstore: MaildirStore
) -> None:
    folder = mstore.folder("INBOX")
    steps = [
        lambda: [folder.append(MESSAGE) for _ in range(5)],
        lambda: folder.append(MESSAGE, [SEEN]),
        folder.claim_recent,
        lambda: folder.append(MESSAGE),
        lambda: folder.store_flags([1, 2], [SEEN], "add"),
        lambda: folder.store_flags([2, 3], [DELETED], "add"),
        folder.expunge,
        folder.claim_recent,
        lambda: folder.store_flags([1], [SEEN], "remove"),
    ]
    figures(folder)  # the figures are kept from here on
    for step in steps:
        step()
        assert figures(folder) == counted(folder), step
        assert folder.status().uidnext == max(m.uid for m in folder.messages()) + 1


def test_touched_since_tells_flag_changes_and_expunges_not_deliveries(
    root: Path, mstore: MaildirStore
) -> None:
    folder = mstore.folder("INBOX")
    for _ in range(3):
        folder.append(MESSAGE)
    folder.claim_recent()
    folder.messages()
    mark = folder.status().highestmodseq
    folder.append(MESSAGE)
    folder.claim_recent()
    folder.refresh()
    assert not folder.touched_since(mark)  # a delivery only
    mark = folder.status().highestmodseq
    folder.store_flags([2], [SEEN], "add")
    assert folder.touched_since(mark)
    mark = folder.status().highestmodseq
    folder.store_flags([3], [DELETED], "add")
    mark = folder.status().highestmodseq
    folder.expunge()
    assert folder.touched_since(mark)
    # Another writer's rename, found by a refresh, counts as well.
    mark = folder.status().highestmodseq
    (path,) = [p for p in (root / "cur").iterdir() if p.name.endswith(":2,")][:1]
    path.rename(path.with_name(path.name + "F"))
    folder._state.sync(force=True)
    folder.messages()
    assert folder.touched_since(mark)
