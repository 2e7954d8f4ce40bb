"""CONDSTORE/QRESYNC/ESEARCH checked against Debian's Dovecot: one scripted session runs on
both servers and the facts of every answer must agree (MODSEQ values are each server's own,
so only their presence is compared; so are the texts and \\Recent)."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from support import listen

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_imap_sort_dovecot import DOVECOT, LineClient, start_dovecot

MESSAGE = b"From: a@example.test\r\nSubject: x\r\n\r\nhello\r\n"

SCRIPT = [
    "ENABLE QRESYNC",
    "SELECT INBOX",
    "FETCH 1:* (FLAGS MODSEQ)",
    "STORE 1,5 +FLAGS (\\Flagged)",
    "STORE 2,6 +FLAGS.SILENT (\\Deleted)",
    "EXPUNGE",
    "STORE 1 (UNCHANGEDSINCE 1) +FLAGS.SILENT (\\Seen)",
    "STORE 3 (UNCHANGEDSINCE {M0}) +FLAGS (\\Seen)",
    "UID STORE 1:* (UNCHANGEDSINCE 0) -FLAGS (\\Seen)",
    "SELECT INBOX (QRESYNC ({UV} {M0} 1:4))",
    "EXAMINE INBOX (QRESYNC ({UV} {M0}))",
    "SELECT INBOX (QRESYNC ({UV} {M0} 1:7 (1:3 1:3)))",
    "UID FETCH 1:* (FLAGS) (CHANGEDSINCE {M0} VANISHED)",
    "UID FETCH 2:5 (FLAGS) (CHANGEDSINCE {M0} VANISHED)",
    "FETCH 1:* (FLAGS) (CHANGEDSINCE {M0})",
    "UID SEARCH RETURN (MIN MAX) MODSEQ {M1}",
    "SEARCH RETURN () MODSEQ 1",
    "SEARCH RETURN (COUNT) FLAGGED",
    "SEARCH MODSEQ {M1}",
    "UID SEARCH RETURN (ALL) NOT FLAGGED",
    "STATUS INBOX (MESSAGES UIDNEXT HIGHESTMODSEQ)",
    "SELECT INBOX (QRESYNC ({UV2} {M0}))",
]

_MODSEQ = re.compile(rb"MODSEQ \(?\d+\)?")
_NUMBERED = re.compile(rb"\[(HIGHESTMODSEQ) \d+\]")


def facts(lines: list[bytes]) -> list[str]:
    """What an answer says, without texts, MODSEQ values or \\Recent."""
    out: list[str] = []
    for line in lines:
        if _MODSEQ.search(line) and line.endswith(b")"):  # item order carries no meaning
            line = _MODSEQ.sub(b"", line).replace(b"  ", b" ").replace(b"( ", b"(")
            line = line.replace(b" )", b")")[:-1] + b" MODSEQ n)"
        line = _MODSEQ.sub(b"MODSEQ n", line)
        line = _NUMBERED.sub(rb"[\1 n]", line).replace(b" \\Recent", b"").replace(b"\\Recent ", b"")
        line = line.replace(b"(\\Recent)", b"()")
        text = line.decode()
        if re.match(r"\* \d+ RECENT|\* FLAGS|\* OK \[(PERMANENTFLAGS|UNSEEN|UIDVALIDITY)", text):
            continue
        if text.startswith("* OK [") or (text.startswith("S") and " OK [" in text):
            text = text[: text.index("]") + 1]  # the response code, not its text
        elif re.match(r"S\d+ (OK|NO|BAD)", text):
            text = text.split()[1]
        if text.startswith("* ESEARCH"):
            text = re.sub(r'\(TAG "[^"]*"\) ', "", text)
        if text.startswith("* STATUS"):
            text = re.sub(r"UIDNEXT \d+ ", "", text)  # Dovecot counts APPENDs of a test run
        out.append(text)
    return out


def run_script(port: int, user: bytes) -> list[list[str]]:
    client = LineClient(port)
    client.command(b"LOGIN " + user + b" secret")
    for n in range(7):
        client.command(b"APPEND INBOX" + (b" (\\Answered)" if n == 3 else b""), MESSAGE)
    values: dict[str, Any] = {}
    out = []
    for step in SCRIPT:
        command = step.format(**values).encode()
        try:
            lines = client.command(command)
        except AssertionError as e:  # a NO/BAD is a fact too
            lines = [e.args[0][1]]
        if step == "SELECT INBOX":
            for line in lines:
                found = re.search(rb"\[(UIDVALIDITY|HIGHESTMODSEQ) (\d+)\]", line)
                if found:
                    key = "UV" if found.group(1) == b"UIDVALIDITY" else "M0"
                    values[key] = int(found.group(2))
            values["UV2"] = values["UV"] + 1
        if step.startswith("STORE 1,5"):
            values["M1"] = max(int(m) for m in re.findall(rb"MODSEQ \((\d+)\)", b" ".join(lines)))
        out.append(facts(lines))
    return out


def dovecot_facts() -> list[list[str]]:
    work = Path(tempfile.mkdtemp(prefix="maa-condstore-dovecot-"))
    os.chmod(work, 0o755)
    process, port = start_dovecot(work)
    try:
        return run_script(port, b"alice")
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.integration
@pytest_twisted.inlineCallbacks
def test_condstore_qresync_answers_as_dovecot(ctx: Any) -> None:
    if DOVECOT is None:
        pytest.skip("dovecot is not installed")
    from twisted.internet import threads

    from maa.imap.server import build_factory

    expected = yield threads.deferToThread(dovecot_facts)
    port = listen(build_factory(ctx, implicit_tls=False))
    got = yield threads.deferToThread(run_script, port, b"alice@example.test")
    mismatches = [
        (step, mine, theirs)
        for step, mine, theirs in zip(SCRIPT, got, expected, strict=True)
        if mine != theirs
    ]
    report = "\n".join(f"{s}\n  maa:     {m}\n  dovecot: {t}" for s, m, t in mismatches)
    assert mismatches == [], report
