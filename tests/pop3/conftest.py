from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pop3_support import Pop3Server, start_pop3
from support import write_config

from maa.config import load_config


@pytest.fixture
def pop3(tmp_path: Path) -> Iterator[Pop3Server]:
    """maa's POP3 in this process on two loopback ports (plain with STLS, and implicit TLS),
    over a Maildir under tmp_path."""
    yield start_pop3(tmp_path / "etc")


@pytest.fixture
def pop3_factory() -> Any:
    """Starts a further POP3 server in the same test: ``pop3_factory(directory, **sections)``."""

    def make(directory: Path, **sections: dict[str, Any]) -> Pop3Server:
        return start_pop3(directory, **sections)

    return make


@pytest.fixture
def pop3_config(tmp_path: Path) -> Any:
    return load_config(write_config(tmp_path / "etc"))
