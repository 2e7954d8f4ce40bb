from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "queue"))

from front_support import Front, front
from queue_fixtures import maillog, make_ctx, tls_pair

__all__ = ["Front", "front", "maillog", "make_ctx", "tls_pair"]
