"""Fixtures for IMAP tests over real sockets: an in-process server on a memory store."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import listen, write_config

from maa.config import Config, load_config
from maa.context import ServerContext


@pytest.fixture
def imap_config(tmp_path: Path) -> Config:
    # One memory namespace per test: the same name gives the same in-process store.
    return load_config(
        write_config(tmp_path / "etc", mail={"location": f"memory:{tmp_path}/%d/%n"})
    )


@pytest.fixture
def imap_ctx(imap_config: Config) -> ServerContext:
    from twisted.internet import reactor

    from maa.service import build_context

    return build_context(imap_config, reactor)


@pytest.fixture
def imap_port(imap_ctx: ServerContext) -> int:
    from maa.imap.server import build_factory

    return listen(build_factory(imap_ctx, implicit_tls=False))
