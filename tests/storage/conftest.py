"""The ``store`` fixture: one fresh MailStore per test, for every driver that imports."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pytest

from maa.storage import MailStore, open_store

# Driver -> the name its module must export for the driver to be tested.
DRIVERS = {"memory": "MemoryStore", "maildir": "MaildirStore", "mbox": "MboxStore"}


def _driver_available(module: str, export: str) -> bool:
    try:
        return hasattr(importlib.import_module(module), export)
    except Exception:  # a driver that does not import is skipped, not an error for the rest
        return False


def _param(driver: str) -> object:
    module = f"maa.storage.{driver}"
    available = _driver_available(module, DRIVERS[driver])
    marks = [] if available else [pytest.mark.skip(reason=f"{module} not importable yet")]
    return pytest.param(driver, marks=marks, id=driver)


@pytest.fixture(params=[_param(d) for d in DRIVERS])
def driver(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_store(driver: str, tmp_path: Path) -> Callable[[str], MailStore]:
    """Open (or reopen) the store called ``name`` of the current driver."""

    def make(name: str = "user") -> MailStore:
        if driver == "memory":
            return open_store(f"memory:{tmp_path / name}")
        return open_store(f"{driver}:{tmp_path / name}")

    return make


@pytest.fixture
def store(make_store: Callable[[str], MailStore]) -> MailStore:
    s = make_store("user")
    s.ensure_defaults()
    return s
