from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted
import support
from support import RunningServer, running_server, stop_listening, write_config

from maa.config import Config, load_config
from maa.context import ServerContext


@pytest.fixture
def maa_config(tmp_path: Path) -> Config:
    return load_config(write_config(tmp_path / "etc"))


@pytest.fixture
def ctx(maa_config: Config) -> ServerContext:
    from twisted.internet import reactor

    from maa.service import build_context

    return build_context(maa_config, reactor)


@pytest.fixture(autouse=True)
def _close_listeners() -> Iterator[None]:
    """Close the ports a test opened with ``support.listen``."""
    yield
    if support._LISTENING:
        pytest_twisted.blockon(stop_listening())


@pytest.fixture
def maa_server(tmp_path: Path) -> Iterator[RunningServer]:
    """``maa serve`` in a subprocess with every listener on a free loopback port."""
    with running_server(tmp_path / "server") as server:
        yield server
