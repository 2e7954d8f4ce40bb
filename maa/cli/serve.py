"""``maa serve``: run every configured listener until SIGTERM or SIGINT; SIGHUP rereads users."""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path
from typing import Any

from maa.cli.common import add_config_option, load
from maa.log import service_log, setup_logging

log = service_log("master")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve", help="run the mail servers (foreground)")
    add_config_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load(args)
    setup_logging(config.server.log_file)

    from twisted.internet import reactor

    from maa.service import THREAD_POOL_SIZE, build_context, build_service, drop_privileges

    r: Any = reactor
    r.suggestThreadPoolSize(THREAD_POOL_SIZE)
    ctx = build_context(config, reactor)
    top = build_service(ctx)
    pid_file = Path(config.server.pid_file)

    def reload_users(signum: int, frame: Any) -> None:
        r.callFromThread(_reload, ctx)

    failed: list[BaseException] = []

    def start() -> None:
        # The pid file is there before any port accepts, so whoever saw a port open finds it.
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        pid_file.write_text(f"{os.getpid()}\n")
        try:
            top.privilegedStartService()
            if os.geteuid() == 0 and config.server.user:
                _warn_unreadable_users_file(config.auth.passwd_file, config.server.user)
                drop_privileges(config.server.user, Path(config.server.data_dir))
            top.startService()
        except Exception as e:
            log.error(None, f"fatal: {e}")
            failed.append(e)
            r.stop()
            return
        log.info(None, f"maa starting up (config {config.path})")

    def stop() -> Any:
        log.info(None, "maa shutting down")
        try:
            if pid_file.read_text().strip() == str(os.getpid()):
                pid_file.unlink()
        except OSError:
            pass
        return top.stopService()

    signal.signal(signal.SIGHUP, reload_users)
    r.callWhenRunning(start)
    r.addSystemEventTrigger("before", "shutdown", stop)
    r.run()
    return 1 if failed else 0


def _reload(ctx: Any) -> None:
    from maa.auth.passwdfile import PasswdFile

    if isinstance(ctx.userdb, PasswdFile):
        changed = ctx.userdb.reload_if_changed(force=True)
    else:
        changed = ctx.userdb.reload_if_changed()
    log.info(None, "SIGHUP: users file reread" + ("" if changed else " (unchanged)"))


def _warn_unreadable_users_file(passwd_file: str, user: str) -> None:
    """The users were read as root; say now, not at the first SIGHUP, that they cannot be
    reread as ``user``."""
    from maa.auth.passwdfile import readable_by

    if Path(passwd_file).exists() and not readable_by(Path(passwd_file), user):
        log.warning(
            None,
            f"users file {passwd_file} not readable by user {user}: the users read now are "
            "kept, but changes are not seen until restart; make it readable by that user "
            "(e.g. its group, mode 0640)",
        )
