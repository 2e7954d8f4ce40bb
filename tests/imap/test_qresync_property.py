"""Property: whatever happens to a folder after a client's snapshot, the QRESYNC answer
(VANISHED (EARLIER) and the FETCHes of changed messages) plus the messages above the
client's last UID rebuild the folder exactly, and tell nothing that did not change."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from maa.imap.condstore import qresync_lines
from maa.imap.selected import SelectedView
from maa.proto.imap.cursor import Cursor
from maa.proto.imap.modifiers import Qresync
from maa.proto.imap.sequence import SequenceSet
from maa.storage.memory import MemoryStore

FLAGS = ["\\Seen", "\\Flagged", "\\Answered", "$Label1"]
MESSAGE = b"Subject: x\r\n\r\nbody\r\n"

Operation = tuple[str, int, list[str]]
operations = st.lists(
    st.tuples(
        st.sampled_from(["add", "remove", "set", "expunge", "append"]),
        st.integers(0, 30),
        st.lists(st.sampled_from(FLAGS), max_size=2, unique=True),
    ),
    max_size=15,
)


def parse_set(text: bytes) -> list[int]:
    return SequenceSet.parse(Cursor((text,))).select(list(range(1, 200)))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(FLAGS), max_size=2, unique=True), min_size=1, max_size=12),
    operations,
    st.booleans(),
)
def test_qresync_rebuilds_the_folder(
    initial: list[list[str]], ops: list[Operation], give_known: bool
) -> None:
    folder = MemoryStore().folder("INBOX")
    for flags in initial:
        folder.append(MESSAGE, flags)
    status = folder.status()
    client = {info.uid: set(info.flags) for info in folder.messages()}
    last_known = max(client)
    for kind, pick, flags in ops:
        uids = [info.uid for info in folder.messages()]
        if kind == "append":
            folder.append(MESSAGE, flags)
        elif uids and kind == "expunge":
            uid = uids[pick % len(uids)]
            folder.store_flags([uid], ["\\Deleted"], "add")
            folder.expunge([uid])
        elif uids:
            folder.store_flags([uids[pick % len(uids)]], flags, kind)  # type: ignore[arg-type]
    view = SelectedView(folder, readonly=True, on_change=lambda: None, qresync=True)
    known = SequenceSet(((1, last_known),)) if give_known else None
    lines = qresync_lines(view, Qresync(status.uidvalidity, status.highestmodseq, known))
    told: set[int] = set()
    for line in lines:
        vanished = re.fullmatch(rb"\* VANISHED \(EARLIER\) (\S+)\r\n", line)
        if vanished:
            gone = parse_set(vanished.group(1))
            if give_known:  # then only UIDs the client knew (else it ignores the others)
                assert all(uid in client for uid in gone)
            for uid in gone:
                client.pop(uid, None)
            continue
        fetch = re.fullmatch(
            rb"\* \d+ FETCH \(UID (\d+) FLAGS \(([^)]*)\) MODSEQ \(\d+\)\)\r\n", line
        )
        assert fetch, line
        uid = int(fetch.group(1))
        told.add(uid)
        client[uid] = set(fetch.group(2).decode().split())
    current = {info.uid: set(info.flags) for info in folder.messages()}
    # The messages above the client's last UID come from a plain UID FETCH last:*.
    for uid, flags in current.items():
        if uid > last_known:
            client[uid] = flags
    assert client == current
    # Nothing is told about a known message whose flags never changed.
    unchanged = {i.uid for i in folder.messages() if i.modseq <= status.highestmodseq}
    assert not (told & unchanged)
