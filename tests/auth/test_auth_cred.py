"""Logging in through the ``twisted.cred`` portal over the users file."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import task
from zope.interface import Interface

from maa.auth.cred import MailRealm, build_portal
from maa.auth.model import IMailUser, MailUser
from maa.auth.passwdfile import PasswdFile
from maa.context import ServerContext

# `doveadm pw -s SHA512-CRYPT -p secret` (Dovecot 2.3.19.1): checked in the thread pool.
SHA512_SECRET = (
    "{SHA512-CRYPT}$6$YS7pc6OGOyBITDFx$8/4/gcrV/OANf/sAOIvEZtPPWYiNGXYCWR2"
    "B2dp9etcZhVSNtQFJt5VTal2/BsKvDQ8X1sQUPVoP2.9DrPaBW0"
)
DELAY = 2.0


@pytest.fixture
def passwd(tmp_path: Path) -> PasswdFile:
    users = tmp_path / "users"
    users.write_text(
        "alice@example.test:{PLAIN}secret::::::\n"
        f"dave@example.test:{SHA512_SECRET}::::::\n"
        "nopass@example.test:::::::\n"
    )
    return PasswdFile(users, "maildir:/srv/mail/%d/%n")


def _outcome(d: Any) -> list[Any]:
    results: list[Any] = []
    d.addBoth(results.append)
    return results


@pytest.mark.parametrize(
    ("name", "password"),
    [
        (b"alice@example.test", b"wrong"),
        (b"nobody@example.test", b"secret"),
        (b"nopass@example.test", b""),
        (b"\xff\xfe@example.test", b"secret"),
        (b"dave@example.test", b"Secret"),
    ],
)
def test_failure_comes_only_after_the_delay(
    passwd: PasswdFile, name: bytes, password: bytes
) -> None:
    clock = task.Clock()
    portal = build_portal(passwd, failure_delay=DELAY, reactor=clock)
    results = _outcome(portal.login(UsernamePassword(name, password), None, IMailUser))
    assert results == []
    clock.advance(DELAY - 0.01)
    assert results == []
    clock.advance(0.01)
    assert len(results) == 1
    assert results[0].check(UnauthorizedLogin)


def test_success_does_not_wait(passwd: PasswdFile) -> None:
    clock = task.Clock()
    portal = build_portal(passwd, failure_delay=DELAY, reactor=clock)
    results = _outcome(
        portal.login(UsernamePassword(b"Alice@EXAMPLE.test", b"secret"), None, IMailUser)
    )
    assert len(results) == 1
    interface, user, logout = results[0]
    assert interface is IMailUser
    assert isinstance(user, MailUser) and user.login == "alice@example.test"
    assert user.mail_location == "maildir:/srv/mail/example.test/alice"
    logout()


@pytest_twisted.inlineCallbacks
def test_expensive_scheme_is_checked_off_the_reactor_thread(passwd: PasswdFile) -> Any:
    from twisted.internet import reactor

    seen: list[str] = []
    check = passwd.check_password

    def spy(entry: Any, password: Any) -> bool:
        seen.append(threading.current_thread().name)
        return check(entry, password)

    passwd.check_password = spy  # type: ignore[method-assign]
    portal = build_portal(passwd, failure_delay=0.05, reactor=reactor)
    _iface, user, _logout = yield portal.login(
        UsernamePassword(b"dave@example.test", b"secret"), None, IMailUser
    )
    assert user.login == "dave@example.test"
    with pytest.raises(UnauthorizedLogin):
        yield portal.login(UsernamePassword(b"dave@example.test", b"nope"), None, IMailUser)
    assert len(seen) == 2
    assert threading.main_thread().name not in seen
    # A cheap scheme stays on the reactor thread.
    yield portal.login(UsernamePassword(b"alice@example.test", b"secret"), None, IMailUser)
    assert seen[-1] == threading.main_thread().name


@pytest_twisted.inlineCallbacks
def test_context_portal_logs_in_the_test_users(ctx: ServerContext) -> Any:
    for name in (b"alice@example.test", b"carol", b"dave@example.test"):
        _iface, user, logout = yield ctx.portal.login(
            UsernamePassword(name, b"secret"), None, IMailUser
        )
        assert user.login == name.decode()
        logout()
    with pytest.raises(UnauthorizedLogin):
        yield ctx.portal.login(UsernamePassword(b"bob@example.test", b"x"), None, IMailUser)
    assert ctx.userdb.lookup("bob@example.test") is not None


def test_realm_serves_only_mail_users(passwd: PasswdFile) -> None:
    class IOther(Interface):
        pass

    realm = MailRealm(passwd)
    user = passwd.lookup("alice@example.test")
    assert user is not None
    with pytest.raises(NotImplementedError):
        realm.requestAvatar(user, None, IOther)
    assert realm.requestAvatar(b"alice@example.test", None, IMailUser)[1] == user
    with pytest.raises(UnauthorizedLogin):
        realm.requestAvatar("gone@example.test", None, IMailUser)
