from __future__ import annotations

from pathlib import Path

import pytest

from maa.storage.maildir import MaildirStore


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "Maildir"


@pytest.fixture
def mstore(root: Path) -> MaildirStore:
    store = MaildirStore(root)
    store.ensure_defaults()
    return store
