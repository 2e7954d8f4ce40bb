"""Log lines in the shape admins grep in maillog.

``maa/<service>[pid]: <session-or-queue-id>: text`` after a syslog-style timestamp and host,
one line per event, through the stdlib ``logging`` tree (``maa.<service>`` loggers), so an
admin's ``grep 'maa/lmtp'`` or ``grep 3F2A9C41B7`` finds what Dovecot's and Postfix's would.
"""

from __future__ import annotations

import base64
import logging
import logging.handlers
import os
import socket
import sys
import time
from pathlib import Path

_ROOT = "maa"


class MaillogFormatter(logging.Formatter):
    """``Nov 23 19:10:00 host maa/imap[1234]: session: text``."""

    def __init__(self, hostname: str | None = None) -> None:
        super().__init__()
        self.hostname = hostname or socket.gethostname().split(".")[0]

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%b %d %H:%M:%S", time.localtime(record.created))
        service = record.name.removeprefix(_ROOT + ".") if record.name != _ROOT else "maa"
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return f"{stamp} {self.hostname} maa/{service}[{record.process}]: {text}"


class ServiceLog:
    """The logger of one service (``imap``, ``lmtp``, ``smtpd``...)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.logger = logging.getLogger(f"{_ROOT}.{service}")

    @staticmethod
    def _line(session: str | None, text: str) -> str:
        return f"{session}: {text}" if session else text

    def info(self, session: str | None, text: str) -> None:
        self.logger.info(self._line(session, text))

    def warning(self, session: str | None, text: str) -> None:
        self.logger.warning(self._line(session, "warning: " + text))

    def error(self, session: str | None, text: str, *, exc_info: bool = False) -> None:
        self.logger.error(self._line(session, "error: " + text), exc_info=exc_info)


def service_log(service: str) -> ServiceLog:
    return ServiceLog(service)


def new_session_id() -> str:
    """A short random id for one connection, like Dovecot's ``session=<...>``."""
    return base64.b64encode(os.urandom(9), altchars=b"+/").decode("ascii")


def setup_logging(log_file: str | Path | None = None, *, level: int = logging.INFO) -> None:
    """Send maa's lines (and Twisted's, through the stdlib bridge) to stderr or a file."""
    handler: logging.Handler
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        # Reopened when logrotate moves the file away, as syslog's files are.
        handler = logging.handlers.WatchedFileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MaillogFormatter())
    root = logging.getLogger(_ROOT)
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
