"""The ``twisted.cred`` side of the users file: a password checker and the mail realm.

Every front end logs in through ``Portal.login(UsernamePassword(...), None, IMailUser)``.
Deliberately slow schemes (crypt family, argon2, PBKDF2, SCRAM) are checked in the reactor's
thread pool; a failed login errbacks with ``UnauthorizedLogin`` only after ``failure_delay``
seconds, as Dovecot's ``auth_failure_delay`` does, so guessing stays slow even on one
connection that pipelines its attempts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import IUsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import IRealm, Portal
from twisted.internet import defer, task, threads
from twisted.python.failure import Failure
from zope.interface import implementer

from maa.auth.model import IMailUser, MailUser, UserDB
from maa.auth.passwdfile import PasswdFile
from maa.auth.schemes import is_expensive
from maa.log import service_log

log = service_log("auth")


def _no_logout() -> None:
    return None


@implementer(ICredentialsChecker)
class PasswdFileChecker:
    """Checks ``IUsernamePassword`` against a users file; the avatar id is the ``MailUser``."""

    credentialInterfaces = (IUsernamePassword,)

    def __init__(self, passwd: PasswdFile, *, failure_delay: float, reactor: Any) -> None:
        self.passwd = passwd
        self.failure_delay = failure_delay
        self.reactor = reactor

    def requestAvatarId(self, credentials: Any) -> defer.Deferred[MailUser]:
        username: bytes | str = credentials.username
        password: bytes | str = credentials.password
        try:
            name = username.decode("utf-8") if isinstance(username, bytes) else username
        except UnicodeDecodeError:
            return self._fail("(not UTF-8)", "user name is not UTF-8")
        entry = self.passwd.find(name)
        if entry is None:
            return self._fail(name, "unknown user")

        def check() -> bool:
            return self.passwd.check_password(entry, password)

        d: defer.Deferred[bool]
        if is_expensive(entry.password) and hasattr(self.reactor, "getThreadPool"):
            d = threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), check)
        else:
            d = defer.maybeDeferred(check)

        def checked(ok: bool) -> defer.Deferred[MailUser] | MailUser:
            if not ok:
                reason = "password mismatch" if entry.password else "no password set"
                return self._fail(name, reason)
            return entry.user

        def broken(failure: Failure) -> defer.Deferred[MailUser]:
            log.error(None, f"passwd-file({name}): checking the password failed: {failure.value}")
            return self._fail(name, "internal error")

        return d.addCallbacks(checked, broken)

    def _fail(self, name: str, reason: str) -> defer.Deferred[MailUser]:
        log.info(None, f"passwd-file({name}): {reason}")

        def refuse() -> MailUser:
            raise UnauthorizedLogin(reason)

        return task.deferLater(self.reactor, self.failure_delay, refuse)


@implementer(IRealm)
class MailRealm:
    """Hands out the ``MailUser`` as the ``IMailUser`` avatar."""

    def __init__(self, userdb: UserDB) -> None:
        self.userdb = userdb

    def requestAvatar(
        self, avatarId: Any, mind: object, *interfaces: Any
    ) -> tuple[Any, MailUser, Callable[[], None]]:
        if IMailUser not in interfaces:
            raise NotImplementedError("maa only serves IMailUser avatars")
        if isinstance(avatarId, MailUser):
            user = avatarId
        else:
            name = avatarId.decode("utf-8") if isinstance(avatarId, bytes) else str(avatarId)
            found = self.userdb.lookup(name)
            if found is None:
                raise UnauthorizedLogin("user vanished from the userdb")
            user = found
        return IMailUser, user, _no_logout


def build_portal(passwd: PasswdFile, *, failure_delay: float, reactor: Any) -> Portal:
    checker = PasswdFileChecker(passwd, failure_delay=failure_delay, reactor=reactor)
    return Portal(MailRealm(passwd), [checker])  # type: ignore[arg-type, list-item]
