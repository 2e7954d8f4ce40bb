"""The Twisted service tree built from the settings: one listener per endpoint string.

Each front end exposes ``build_factory(ctx, *, implicit_tls)`` in ``maa/<front end>/server.py``;
``listen`` endpoints get the plain factory (STARTTLS inside), ``listen_tls`` ones the same
factory wrapped in TLS from the first byte.
"""

from __future__ import annotations

import grp
import importlib
import os
import pwd
from pathlib import Path
from types import ModuleType
from typing import Any

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService
from twisted.internet.endpoints import serverFromString

from maa.config import Config
from maa.context import ServerContext, StoreCache
from maa.log import service_log
from maa.tls import server_options, wrap_implicit

log = service_log("master")

# Config section -> the module that builds its protocol factory.
FRONT_ENDS = {
    "lmtp": "maa.lmtp.server",
    "imap": "maa.imap.server",
    "pop3": "maa.pop3.server",
    "submission": "maa.submission.server",
}
QUEUE_MODULE = "maa.queue.service"
# Queue deliveries, IMAP APPEND and slow password hashes run in the reactor's thread pool;
# Twisted's default of 10 threads would cap concurrent deliveries below what the disk can
# sync. (LMTP deliveries have threads of their own: maa/lmtp/workers.py.)
THREAD_POOL_SIZE = 32


def build_context(config: Config, reactor: Any) -> ServerContext:
    from maa.auth import open_passwd_file
    from maa.auth.cred import build_portal

    Path(config.server.data_dir).mkdir(parents=True, exist_ok=True)
    passwd = open_passwd_file(config)
    portal = build_portal(passwd, failure_delay=config.auth.failure_delay, reactor=reactor)
    return ServerContext(
        config=config,
        userdb=passwd,
        portal=portal,
        tls=server_options(config),
        stores=StoreCache(),
        reactor=reactor,
    )


def _optional_module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name:
            raise
        return None


class EndpointService(StreamServerEndpointService):
    """A listener that says in the log where it listens once it does."""

    def __init__(self, reactor: Any, description: str, factory: Any, label: str):
        super().__init__(serverFromString(reactor, description), factory)
        self.description = description
        self.label = label
        self._raiseSynchronously = True

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        assert self._waitingForPort is not None
        self._waitingForPort.addCallback(self._listening)

    def _listening(self, port: Any) -> Any:
        host = port.getHost()
        name = getattr(host, "name", None)
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        where = name or f"{host.host}:{host.port}"
        log.info(None, f"{self.label}: listening on {where}")
        return port


def build_service(ctx: ServerContext) -> MultiService:
    top = MultiService()
    config = ctx.config
    for section, module_name in FRONT_ENDS.items():
        settings = getattr(config, section)
        endpoints = list(settings.listen) + list(getattr(settings, "listen_tls", []))
        if not endpoints:
            continue
        module = _optional_module(module_name)
        if module is None:
            log.info(None, f"[{section}] is not available in this build; its listeners are ignored")
            continue
        for description in settings.listen:
            _prepare_unix(description)
            factory = module.build_factory(ctx, implicit_tls=False)
            EndpointService(ctx.reactor, description, factory, section).setServiceParent(top)
        for description in getattr(settings, "listen_tls", []):
            factory = wrap_implicit(module.build_factory(ctx, implicit_tls=True), ctx.tls)
            label = f"{section} (TLS)"
            EndpointService(ctx.reactor, description, factory, label).setServiceParent(top)
    if config.smtp.listen:
        submission = _optional_module(FRONT_ENDS["submission"])
        if submission is None:
            log.info(None, "[smtp] is not available in this build; its listeners are ignored")
        else:
            for description in config.smtp.listen:
                factory = submission.build_mx_factory(ctx)
                EndpointService(ctx.reactor, description, factory, "smtp").setServiceParent(top)
    queue = _optional_module(QUEUE_MODULE)
    if queue is not None:
        service: Any = queue.build_service(ctx)
        service.setServiceParent(top)
    return top


def _prepare_unix(description: str) -> None:
    if description.startswith("unix:"):
        path = description[5:].split(":", 1)[0]
        Path(path).parent.mkdir(parents=True, exist_ok=True)


# Modules the servers import on first use. They are loaded before privileges are dropped:
# the interpreter's library need not be readable by the mail user.
PRELOAD = (
    "sqlite3",
    "maa.storage.maildir",
    "maa.storage.mbox",
    "maa.storage.memory",
    "email.parser",
    "email.policy",
    "encodings.idna",
)


def drop_privileges(user: str, data_dir: Path) -> None:
    """Become ``user`` (its uid, gid and groups) once the listeners are bound, first giving
    it what root made in data_dir (queue, sockets, certificates) so it can go on using them."""
    entry = pwd.getpwnam(user)
    for name in PRELOAD:
        _optional_module(name)
    _give_root_owned(data_dir, entry.pw_uid, entry.pw_gid)
    os.setgroups([g.gr_gid for g in grp.getgrall() if user in g.gr_mem] + [entry.pw_gid])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    log.info(None, f"dropped privileges to {user} (uid {entry.pw_uid}, gid {entry.pw_gid})")


def _give_root_owned(path: Path, uid: int, gid: int) -> None:
    """chown what root owns under ``path``; a folder the user already owns (a mail tree) is
    not walked, so a large Maildir costs nothing here."""
    if path.lstat().st_uid != 0:
        return
    os.chown(path, uid, gid, follow_symlinks=False)
    if path.is_dir() and not path.is_symlink():
        for child in path.iterdir():
            _give_root_owned(child, uid, gid)
