"""Fixtures the queue and submission tests share (imported by both conftests)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import write_config

from maa.config import load_config
from maa.context import ServerContext

# In-process tests read mailboxes through the same StoreCache; the memory driver keeps them fast.
MAIL_LOCATION = "memory:mail/%d/%n"
QUEUE_FAST = {"min_backoff": 60.0, "max_backoff": 240.0, "run_interval": 3600.0}


@pytest.fixture(scope="session")
def tls_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """One self-signed pair for every context (making a key per test costs ~0.3 s)."""
    from maa.tls import make_self_signed

    return make_self_signed("mail.example.test")


@pytest.fixture
def make_ctx(tmp_path: Path, tls_pair: tuple[bytes, bytes]) -> Callable[..., ServerContext]:
    """A ServerContext whose config has the given section overrides and extra files
    (``files={"aliases": "text"}`` written next to the config)."""

    def make(files: dict[str, str] | None = None, **sections: dict[str, Any]) -> ServerContext:
        from twisted.internet import reactor

        from maa.service import build_context

        etc = tmp_path / "etc"
        etc.mkdir(exist_ok=True)
        for name, text in (files or {}).items():
            (etc / name).write_text(text)
        queue = {**QUEUE_FAST, **sections.pop("queue", {})}
        mail = {"location": MAIL_LOCATION, **sections.pop("mail", {})}
        config = load_config(write_config(etc, queue=queue, mail=mail, **sections))
        cert, key = Path(config.tls.cert), Path(config.tls.key)
        if not cert.exists():
            cert.parent.mkdir(parents=True, exist_ok=True)
            cert.write_bytes(tls_pair[0])
            key.write_bytes(tls_pair[1])
            key.chmod(0o600)
        return build_context(config, reactor)

    return make


@pytest.fixture
def maillog(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """maa's log lines (the ``maa`` logger does not propagate to the root)."""
    logger = logging.getLogger("maa")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="maa")
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)
