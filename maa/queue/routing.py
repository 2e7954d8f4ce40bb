"""Which recipients are ours and where everyone else's mail goes (Postfix's trivial-rewrite).

Hosted domains are the users file's domains plus ``[submission] domains``. For them, aliases are
expanded and each final address is delivered locally; an address that is neither a user nor an
alias is refused at RCPT (550 5.1.1, where Postfix refuses too). Other domains go through the
transport table, else ``relayhost``, else the domain's own MX. Bare names (``root`` from
``maa sendmail``) are local: users of the users file without a domain, or aliases(5) keys.

The alias, transport and header_checks files are re-read when they change on disk, so an admin's
edit takes effect without a restart (Postfix needs ``postmap`` and a reload for the same).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from maa.auth.model import MailUser, UserDB
from maa.config import Config
from maa.log import service_log
from maa.queue.aliases import AliasError, AliasTable, split_address
from maa.queue.envelope import Recipient
from maa.queue.headerchecks import HeaderChecks
from maa.queue.transport import NextHop, Route, TransportTable, parse_nexthop

T = TypeVar("T")
log = service_log("trivial-rewrite")


class FileTable(Generic[T]):
    """A table parsed from a file, parsed again when the file's mtime or size changes."""

    def __init__(self, path: str | None, loader: Callable[[str | None], T]) -> None:
        self._path = path
        self._loader = loader
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._value: T = loader(None)

    def get(self) -> T:
        if self._path is None:
            return self._value
        try:
            st = os.stat(self._path)
            stamp = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = (0, -1)
        with self._lock:
            if stamp != self._stamp:
                if stamp[1] < 0:  # set in the config, yet absent: say so, once
                    log.warning(None, f"{self._path}: no such file; the table is empty")
                self._stamp = stamp
                try:
                    self._value = self._loader(self._path if stamp[1] >= 0 else None)
                except (OSError, ValueError) as e:
                    # A typo while the admin edits the file must not stop mail: the table
                    # as it last parsed stays in force, and the log says why.
                    log.error(None, f"{self._path}: {e}; keeping the previous table")
            return self._value


@dataclass(frozen=True)
class LocalTarget:
    user: MailUser
    address: str  # as addressed (may carry +detail), for Delivered-To and the log


@dataclass(frozen=True)
class RemoteTarget:
    address: str
    route: Route


@dataclass(frozen=True)
class UnknownTarget:
    address: str


Target = LocalTarget | RemoteTarget | UnknownTarget


class Router:
    def __init__(self, config: Config, userdb: UserDB) -> None:
        self.config = config
        self.userdb = userdb
        sub = config.submission
        self.delimiter = config.mail.recipient_delimiter
        self._extra_domains = frozenset(d.lower() for d in sub.domains)
        self._aliases = FileTable(sub.aliases, AliasTable.load)
        self._transport = FileTable(sub.transport_maps, TransportTable.load)
        self._header_checks = FileTable(sub.header_checks, HeaderChecks.load)
        self.relayhost: NextHop | None = parse_nexthop(sub.relayhost) if sub.relayhost else None

    @property
    def aliases(self) -> AliasTable:
        return self._aliases.get()

    @property
    def header_checks(self) -> HeaderChecks:
        return self._header_checks.get()

    def hosted_domains(self) -> frozenset[str]:
        return self.userdb.domains() | self._extra_domains

    def is_hosted(self, domain: str) -> bool:
        return domain.lower() in self.hosted_domains()

    def is_local(self, address: str) -> bool:
        """A bare name or an address in a hosted domain."""
        _, domain = split_address(address)
        return not domain or self.is_hosted(domain)

    def find_user(self, address: str) -> MailUser | None:
        """The user an address delivers to, ``+detail`` ignored (lda's resolution)."""
        from maa.lda import resolve_recipient  # imported late: it pulls in Twisted

        return resolve_recipient(self.userdb, address, self.delimiter)[0]

    def accepts(self, address: str) -> bool:
        """Is this local address deliverable (a user, or an alias)? RCPT's question."""
        return (
            self.find_user(address) is not None
            or self.aliases.lookup(address, self.delimiter) is not None
        )

    def expand(self, address: str) -> list[str]:
        """The final addresses of one address; ``AliasError`` (logged) past the alias
        recursion or expansion limits."""
        if not self.is_local(address):
            return [address]
        try:
            return self.aliases.expand(address, is_hosted=self.is_hosted, delimiter=self.delimiter)
        except AliasError as e:
            log.error(None, f"{address}: {e}")
            raise

    def recipients_for(
        self, address: str, *, notify: tuple[str, ...] = (), orcpt: str | None = None
    ) -> list[Recipient]:
        """The envelope recipients one RCPT TO address becomes (aliases expanded)."""
        return [
            Recipient(address=a, original=address, notify=notify, orcpt=orcpt)
            for a in self.expand(address)
        ]

    def envelope_recipients(self, addresses: list[str]) -> list[Recipient]:
        """Expanded recipients for several addresses, duplicates dropped (cleanup does)."""
        return dedupe([r for a in addresses for r in self.recipients_for(a)])

    def owns_sender(self, user: MailUser, sender: str) -> bool:
        """May ``user`` send as ``sender``: their own address (with or without +detail) or an
        alias that expands to them."""
        own = {user.address.lower(), user.login.lower()}
        if sender.lower() in own:
            return True
        found = self.find_user(sender)
        if found is not None and found.login == user.login:
            return True
        if not self.is_local(sender):
            return False
        targets = {t.lower() for t in self.expand(sender)}
        return bool(targets & own)

    def resolve(self, address: str) -> Target:
        """Classify one final (already expanded) address."""
        if self.is_local(address):
            user = self.find_user(address)
            return LocalTarget(user, address) if user is not None else UnknownTarget(address)
        return RemoteTarget(address, self.route(address))

    def route(self, address: str) -> Route:
        route = self._transport.get().lookup(address)
        if route is not None and (route.kind != "smtp" or route.nexthop is not None):
            return route
        if self.relayhost is not None:
            return Route("smtp", self.relayhost)
        domain = split_address(address)[1]
        return Route("smtp", NextHop(domain, mx_lookup=True))

    def qualify(self, address: str) -> str:
        """A bare name from ``maa sendmail``: a users-file login or alias as is, else
        ``name@hostname`` (Postfix's ``$myorigin``)."""
        if "@" in address or not address:
            return address
        if self.accepts(address):
            return address
        return f"{address}@{self.config.server.hostname}"


def with_domain(address: str, hostname: str) -> str:
    """A bare name as it must appear outside this host: ``root`` → ``root@hostname``
    (Postfix's ``append_at_myorigin``); the null sender and full addresses as they are."""
    if not address or "@" in address:
        return address
    return f"{address}@{hostname}"


def dedupe(recipients: list[Recipient]) -> list[Recipient]:
    seen: set[str] = set()
    out: list[Recipient] = []
    for r in recipients:
        if r.address.lower() not in seen:
            seen.add(r.address.lower())
            out.append(r)
    return out


def queue_root(config: Config) -> Path:
    return Path(config.server.data_dir) / "queue"


def check_tables(config: Config) -> tuple[list[str], list[str]]:
    """(problems, warnings) of the submission tables for ``maa check``: the aliases,
    transport, header_checks and credentials files parse (what postmap and postalias would
    report), ``relayhost`` and ``mynetworks`` are well formed."""
    import ipaddress
    import stat

    from maa.queue.credentials import Credentials

    sub = config.submission
    problems: list[str] = []
    warnings: list[str] = []
    tables: list[tuple[str, str | None, Callable[[str], object]]] = [
        ("aliases", sub.aliases, AliasTable.load),
        ("transport_maps", sub.transport_maps, TransportTable.load),
        ("header_checks", sub.header_checks, HeaderChecks.load),
        ("relayhost_credentials", sub.relayhost_credentials, Credentials.load),
    ]
    for key, path, loader in tables:
        if path is None:
            continue
        try:
            loader(path)
        except FileNotFoundError:
            problems.append(f"{path}: no such file ([submission] {key})")
        except (OSError, ValueError) as e:
            problems.append(str(e))
    secret = sub.relayhost_credentials
    readable = stat.S_IRGRP | stat.S_IROTH
    if secret is not None and os.path.exists(secret) and os.stat(secret).st_mode & readable:
        warnings.append(f"{secret}: readable by others, and it holds passwords")
    if sub.relayhost:
        try:
            parse_nexthop(sub.relayhost)
        except ValueError as e:
            problems.append(f"[submission] relayhost: {e}")
    for network in config.smtp.mynetworks:
        try:
            ipaddress.ip_network(network.strip(), strict=False)
        except ValueError as e:
            problems.append(f"[smtp] mynetworks: {e}")
    return problems, warnings
