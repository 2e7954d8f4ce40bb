"""Hypothesis state machine: maa and another program take turns on one mbox file; after every
step the index agrees with the file and no surviving message changes its UID."""

from __future__ import annotations

import mailbox
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from maa.storage.interface import DELETED
from maa.storage.mbox import MboxStore

_body_line = st.one_of(
    st.text(alphabet="abc >From", max_size=12),
    st.sampled_from(["From x", ">From y", ">>From z", ""]),
)
_bodies = st.lists(_body_line, max_size=5)


def message_spans(data: bytes) -> list[tuple[int, int]]:
    """Where each message of an mbox lies (its From_ line to the empty line after it), found
    as mutt finds them: a From_ line after an empty line, and a body whose Content-Length
    points at the next From_ line (or the end) skipped over whole."""
    spans = []
    pos = 0
    while pos < len(data):
        header_end = data.find(b"\n\n", pos)
        end = -1
        declared = re.search(rb"(?im)^Content-Length: *(\d+) *$", data[pos:header_end])
        if header_end >= 0 and declared:
            target = header_end + 2 + int(declared.group(1))
            if data[target : target + 6] == b"\nFrom " or target + 1 == len(data):
                end = target + 1
        if end < 0:
            after = data.find(b"\n\nFrom ", max(pos, header_end))
            end = len(data) if after < 0 else after + 2
        spans.append((pos, end))
        pos = end
    return spans


class MboxSharedWithAnotherProgram(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="maa-mbox-sm-"))
        self.store = MboxStore(self.root)
        self.inbox = self.store.folder("INBOX")
        self.path = self.root / "inbox"
        # The expected folder, in file order: [uid or None until maa has seen it, message].
        self.model: list[list[object]] = []
        self.counter = 0
        self.highest_uid = 0

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def _message(self, body: list[str]) -> bytes:
        self.counter += 1
        text = f"Subject: {self.counter}\r\n\r\n" + "".join(f"{line}\r\n" for line in body)
        return text.encode()

    def _maa_has_looked(self) -> None:
        """maa indexes what the other program appended (in file order) before any change."""
        for entry in self.model:
            if entry[0] is None:
                self.highest_uid += 1
                entry[0] = self.highest_uid

    @rule(body=_bodies)
    def maa_appends(self, body: list[str]) -> None:
        message = self._message(body)
        self._maa_has_looked()
        uid = self.inbox.append(message)
        assert uid > self.highest_uid
        self.highest_uid = uid
        self.model.append([uid, message])

    @rule(body=_bodies)
    def other_program_appends(self, body: list[str]) -> None:
        message = self._message(body)
        disk = re.sub(rb"(?m)^(>*From )", rb">\1", message.replace(b"\r\n", b"\n"))
        with open(self.path, "ab") as mbox:
            mbox.write(b"From other Mon Nov 23 10:00:00 2026\n" + disk + b"\n")
        self.model.append([None, message])

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def other_program_deletes(self, data: st.DataObject) -> None:
        """A mail reader that honours Content-Length (mutt, Dovecot) deletes one message:
        maa leaves "From " lines in bodies unquoted, as Dovecot does, so a reader that splits
        at every "From " line (Python's mailbox) is not one that can share the file."""
        index = data.draw(st.integers(0, len(self.model) - 1))
        box = mailbox.mbox(self.path)
        box.lock()  # dotlock and fcntl, for the locking only
        try:
            content = self.path.read_bytes()
            start, end = message_spans(content)[index]
            temp = self.path.with_name("reader.tmp")
            temp.write_bytes(content[:start] + content[end:])
            temp.rename(self.path)
        finally:
            box.unlock()
            box.close()
        del self.model[index]

    @precondition(lambda self: any(uid is not None for uid, _ in self.model))
    @rule(data=st.data())
    def maa_expunges(self, data: st.DataObject) -> None:
        known = [n for n, (uid, _) in enumerate(self.model) if uid is not None]
        index = data.draw(st.sampled_from(known))
        self._maa_has_looked()
        uid = self.model[index][0]
        self.inbox.store_flags([uid], [DELETED], "add")  # type: ignore[list-item]
        assert self.inbox.expunge([uid]) == [uid]  # type: ignore[list-item]
        del self.model[index]

    @rule()
    def maa_refreshes(self) -> None:
        self.inbox.refresh()
        self._maa_has_looked()

    @invariant()
    def index_matches_file_after_refresh(self) -> None:
        self.maa_refreshes()
        infos = self.inbox.messages()
        assert [info.uid for info in infos] == sorted(uid for uid, _ in self.model)  # type: ignore[type-var]
        for uid, message in self.model:
            assert self.inbox.read(uid) == message  # type: ignore[arg-type]
            assert self.inbox.message(uid).size == len(message)  # type: ignore[arg-type]


MboxSharedWithAnotherProgram.TestCase.settings = settings(
    max_examples=12,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_mbox_shared_with_another_program = pytest.mark.slow(MboxSharedWithAnotherProgram.TestCase)
