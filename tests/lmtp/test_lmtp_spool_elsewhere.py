"""The LMTP spool on another filesystem than the mail: a message big enough to roll over to
a spool file is copied into the Maildir (no rename or link can cross filesystems), byte for
byte, and its spool file is gone afterwards."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from support import write_config
from test_lmtp_glue import connect, wait_until

from maa.config import load_config
from maa.context import ServerContext
from maa.lmtp.spool import MEMORY_LIMIT, SPOOL_PREFIX

SHM = Path("/dev/shm")


@pytest.fixture
def spool_root(tmp_path: Path) -> Iterator[Path]:
    if not SHM.is_dir() or os.stat(SHM).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem (/dev/shm) to put the spool on")
    root = Path(tempfile.mkdtemp(prefix="maa-spool-", dir=SHM))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest_twisted.inlineCallbacks
def test_a_spooled_message_crosses_to_a_maildir_on_another_filesystem(
    tmp_path: Path, spool_root: Path
) -> Any:
    from twisted.internet import reactor

    from maa.service import build_context

    mail = tmp_path / "mail"
    config = load_config(
        write_config(
            tmp_path / "etc",
            server={"hostname": "mail.example.test", "data_dir": str(spool_root / "var")},
            mail={"location": f"maildir:{mail}/%d/%n"},
        )
    )
    ctx: ServerContext = build_context(config, reactor)
    line = b"0123456789" * 9 + b"\r\n"
    body = line * (MEMORY_LIMIT // len(line) + 100)
    protocol, transport = connect(ctx)
    protocol.dataReceived(
        b"LHLO c\r\nMAIL FROM:<s@example.test>\r\nRCPT TO:<alice@example.test>\r\n"
        b"DATA\r\nSubject: far\r\n\r\n"
    )
    protocol.dataReceived(body)
    spool_dir = spool_root / "var" / "tmp"
    (spooled,) = [p for p in spool_dir.iterdir() if p.name.startswith(SPOOL_PREFIX)]
    assert os.stat(spooled).st_dev != os.stat(tmp_path).st_dev
    protocol.dataReceived(b".\r\n")

    yield wait_until(lambda: b"Saved" in transport.value())
    assert b"250 2.0.0 <alice@example.test>" in transport.value()
    (saved,) = [p for sub in ("new", "cur") for p in (mail / "example.test/alice" / sub).iterdir()]
    content = saved.read_bytes()
    assert content.endswith(b"Subject: far\n\n" + body.replace(b"\r\n", b"\n"))
    assert not any(spool_dir.iterdir())
    protocol.connectionLost(None)
