"""What the auth layer hands to the rest of maa: a logged-in or looked-up mail user."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from zope.interface import Interface


@dataclass(frozen=True)
class MailUser:
    """A user from the userdb, with every ``%`` variable already expanded.

    ``login`` is the name as the users file has it (``alice@example.test`` or ``bob``);
    ``username`` and ``domain`` are Dovecot's ``%n`` and ``%d`` (domain ``""`` when bare).
    ``mail_location`` is absolute, with its driver prefix: ``maildir:/srv/mail/example.test/alice``.
    """

    login: str
    username: str
    domain: str
    uid: int | None
    gid: int | None
    home: str | None
    mail_location: str
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"{self.username}@{self.domain}" if self.domain else self.username


class IMailUser(Interface):
    """The ``twisted.cred`` avatar interface: a successful ``Portal.login`` for it yields a
    ``MailUser``."""


class UserDB(Protocol):
    """Who a user is and where the mail lives (Dovecot's userdb)."""

    def lookup(self, name: str) -> MailUser | None:
        """``name`` is a login or an address; the domain part is matched case-insensitively."""
        ...

    def users(self) -> list[MailUser]: ...

    def domains(self) -> frozenset[str]:
        """The lower-cased domains of every user (the hosted domains)."""
        ...
