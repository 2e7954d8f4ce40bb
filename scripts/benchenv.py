"""Run a benchmark script with the Python of the project's ``.venv``.

``scripts/test`` and ``scripts/serve`` install maa and its dependencies there; the bench
scripts start ``python -m maa`` with their own interpreter, so started as ``scripts/bench-…``
under a system ``python3`` they would find no Twisted. This re-executes them under the venv.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

VENV_PYTHON = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"


def use_project_venv() -> None:
    if Path(sys.prefix).resolve() == VENV_PYTHON.parent.parent.resolve():
        return
    if not VENV_PYTHON.exists():
        raise SystemExit("no .venv yet: run scripts/test (or scripts/serve) once to make it")
    os.execv(VENV_PYTHON, [str(VENV_PYTHON), sys.argv[0], *sys.argv[1:]])
