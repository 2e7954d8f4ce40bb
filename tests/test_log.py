"""maa's log file follows logrotate: after the file is moved away, lines go to a new one."""

from __future__ import annotations

import logging
from pathlib import Path

from maa.log import service_log, setup_logging


def test_log_file_is_reopened_after_rotation(tmp_path: Path) -> None:
    log_file = tmp_path / "maa.log"
    setup_logging(log_file)
    try:
        service_log("lmtp").info("s1", "before rotation")
        log_file.rename(tmp_path / "maa.log.1")
        service_log("lmtp").info("s1", "after rotation")
        assert "before rotation" in (tmp_path / "maa.log.1").read_text()
        assert "maa/lmtp[" in log_file.read_text()
        assert "s1: after rotation" in log_file.read_text()
    finally:
        root = logging.getLogger("maa")
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
