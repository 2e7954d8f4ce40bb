"""What the benchmark scripts share: running under the Python of the project's ``.venv``,
and finding a free loopback port and waiting for a server to listen on it.

``scripts/test`` and ``scripts/serve`` install maa and its dependencies there; the bench
scripts start ``python -m maa`` with their own interpreter, so started as ``scripts/bench-…``
under a system ``python3`` they would find no Twisted. ``use_project_venv`` re-executes them
under the venv.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

VENV_PYTHON = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"


def use_project_venv() -> None:
    if Path(sys.prefix).resolve() == VENV_PYTHON.parent.parent.resolve():
        return
    if not VENV_PYTHON.exists():
        raise SystemExit("no .venv yet: run scripts/test (or scripts/serve) once to make it")
    os.execv(VENV_PYTHON, [str(VENV_PYTHON), sys.argv[0], *sys.argv[1:]])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    """Return once something listens on loopback ``port``; exit if ``process`` ends first
    or 30 s pass."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with status {process.returncode}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"{what} did not listen on port {port}")
