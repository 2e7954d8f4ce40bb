"""The users file as passdb and userdb: parsing, variables, path safety, live reload."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from maa.auth.passwdfile import LineError, PasswdFile, parse_line

BASE = "maildir:/srv/mail/%d/%n"
# `doveadm pw -s SHA512-CRYPT -p secret` (Dovecot 2.3.19.1).
SHA512_SECRET = (
    "{SHA512-CRYPT}$6$YS7pc6OGOyBITDFx$8/4/gcrV/OANf/sAOIvEZtPPWYiNGXYCWR2"
    "B2dp9etcZhVSNtQFJt5VTal2/BsKvDQ8X1sQUPVoP2.9DrPaBW0"
)


@pytest.fixture
def auth_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Records of the ``maa.auth`` logger, even when the ``maa`` tree does not propagate."""
    logger = logging.getLogger("maa.auth")
    logger.addHandler(caplog.handler)
    old_level, old_propagate = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False  # caplog's root handler would see each record a second time
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_fields_and_defaults(tmp_path: Path) -> None:
    users = write(
        tmp_path / "users",
        "# a comment",
        "",
        "alice@example.test:{PLAIN}secret:1000:1001:Alice A.:/home/%n::"
        "userdb_quota_rule=*:storage=1G",
        "carol:{PLAIN}secret",
    )
    passwd = PasswdFile(users, BASE)
    alice = passwd.lookup("alice@example.test")
    assert alice is not None
    assert (alice.login, alice.username, alice.domain) == (
        "alice@example.test",
        "alice",
        "example.test",
    )
    assert (alice.uid, alice.gid, alice.home) == (1000, 1001, "/home/alice")
    assert alice.mail_location == "maildir:/srv/mail/example.test/alice"
    assert alice.extra == {"quota_rule": "*:storage=1G"}
    carol = passwd.lookup("carol")
    assert carol is not None
    assert (carol.domain, carol.uid, carol.home) == ("", None, None)
    assert carol.mail_location == "maildir:/srv/mail/carol"
    assert carol.address == "carol"
    assert passwd.problems == []
    assert [u.login for u in passwd.users()] == ["alice@example.test", "carol"]


def test_verify(tmp_path: Path) -> None:
    users = write(tmp_path / "users", f"dave@example.test:{SHA512_SECRET}::::::")
    passwd = PasswdFile(users, BASE)
    user = passwd.verify("dave@example.test", "secret")
    assert user is not None and user.username == "dave"
    assert passwd.verify("dave@example.test", "Secret") is None
    assert passwd.verify("nobody@example.test", "secret") is None
    assert passwd.verify("dave@example.test", b"secret") == user


def test_mixed_case_domains_expand_lower_case(tmp_path: Path) -> None:
    users = write(tmp_path / "users", "Alice@Example.TEST:{PLAIN}secret")
    passwd = PasswdFile(users, "maildir:/srv/mail/%d/%n")
    for name in ("Alice@Example.TEST", "Alice@example.test", "Alice@EXAMPLE.test"):
        user = passwd.lookup(name)
        assert user is not None, name
        assert user.login == "Alice@Example.TEST"
        assert user.domain == "example.test"
        assert user.mail_location == "maildir:/srv/mail/example.test/Alice"
    # Dovecot's default auth_username_format=%Lu: a lower-cased login finds no "Alice" entry,
    # but a login typed in capitals finds a lower-case one.
    assert passwd.lookup("alice@example.test") is None
    assert passwd.domains() == frozenset({"example.test"})


def test_upper_case_login_finds_lower_case_entry(tmp_path: Path) -> None:
    passwd = PasswdFile(write(tmp_path / "users", "bob@example.test:{PLAIN}x"), BASE)
    user = passwd.lookup("BOB@Example.Test")
    assert user is not None and user.login == "bob@example.test"


def test_long_variables_modifiers_and_home(tmp_path: Path) -> None:
    users = write(
        tmp_path / "users",
        "Erin@Example.TEST:{PLAIN}x:::: /home/%d/%n",
        "frank@example.test:{PLAIN}x:::/home/frank",
        "gina@example.test:{PLAIN}x::::/home/gina::userdb_mail=maildir:~/Maildir:LAYOUT=maildir++",
        "hal@example.test:{PLAIN}x::::::userdb_mail=mbox:/var/mbox/%u",
    )
    passwd = PasswdFile(users, "maildir:/srv/%{domain}/%Ln/100%%")
    frank = passwd.lookup("frank@example.test")
    assert frank is not None and frank.mail_location == "maildir:/srv/example.test/frank/100%"
    # "/home/frank" sits in the gecos field above: no home.
    assert frank.home is None
    gina = passwd.lookup("gina@example.test")
    assert gina is not None
    assert gina.home == "/home/gina"
    assert gina.mail_location == "maildir:/home/gina/Maildir:LAYOUT=maildir++"
    hal = passwd.lookup("hal@example.test")
    assert hal is not None and hal.mail_location == "mbox:/var/mbox/hal@example.test"
    # " /home/%d/%n" is not absolute: that line is refused.
    assert passwd.lookup("Erin@example.test") is None
    assert [p.lineno for p in passwd.problems] == [1]


def test_home_variable_in_location(tmp_path: Path) -> None:
    users = write(tmp_path / "users", "ivy@example.test:{PLAIN}x::::/home/%d/%n")
    passwd = PasswdFile(users, "maildir:%h/Maildir")
    ivy = passwd.lookup("ivy@example.test")
    assert ivy is not None and ivy.mail_location == "maildir:/home/example.test/ivy/Maildir"


def test_userdb_uid_gid_override(tmp_path: Path) -> None:
    users = write(
        tmp_path / "users", "jo@example.test:{PLAIN}x:1000:1000::::userdb_uid=2000 userdb_gid=2001"
    )
    jo = PasswdFile(users, BASE).lookup("jo@example.test")
    assert jo is not None and (jo.uid, jo.gid) == (2000, 2001)


def test_default_realm(tmp_path: Path) -> None:
    users = write(tmp_path / "users", "kim@example.test:{PLAIN}secret", "carol:{PLAIN}secret")
    passwd = PasswdFile(users, BASE, default_realm="Example.Test")
    kim = passwd.verify("kim", "secret")
    assert kim is not None and kim.login == "kim@example.test"
    carol = passwd.lookup("carol")
    assert carol is not None and carol.login == "carol"  # found as such first
    assert PasswdFile(users, BASE).lookup("kim") is None


def test_malformed_lines_are_logged_and_skipped(
    tmp_path: Path, auth_log: pytest.LogCaptureFixture
) -> None:
    users = write(
        tmp_path / "users",
        "alice@example.test:{PLAIN}secret::::::",
        "bad uid@example.test:{PLAIN}secret",
        "lou@example.test:{PLAIN}secret:notauser",
        "mia@example.test:{PLAIN}secret:0:0",
        "ned@example.test:{PLAIN}secret::::::=novalue",
        "oz@example.test:{PLAIN}secret::::relative/home",
        "pia@example.test:{PLAIN}secret::::::userdb_mail=maildir:/m/%z",
        "quin@example.test:{PLAIN}secret:::::::userdb_mail=/one/colon/too/many",
        "alice@EXAMPLE.test:{PLAIN}other",
        "rex@example.test:{PLAIN}secret::::/home/r\x01x",
        "bob@example.test:{PLAIN}secret::::::",
    )
    passwd = PasswdFile(users, BASE)
    assert [p.lineno for p in passwd.problems] == list(range(2, 11))
    assert "already on line 1" in passwd.problems[7].reason
    assert "control character" in passwd.problems[8].reason
    logged = [r.getMessage() for r in auth_log.records]
    for lineno in range(2, 11):
        assert any(f"{users}:{lineno}:" in m and "line skipped" in m for m in logged), lineno
    assert passwd.verify("alice@example.test", "secret") is not None
    assert passwd.verify("alice@example.test", "other") is None
    assert passwd.verify("bob@example.test", "secret") is not None
    assert [u.login for u in passwd.users()] == ["alice@example.test", "bob@example.test"]


def test_unknown_scheme_keeps_the_user_but_refuses_login(
    tmp_path: Path, auth_log: pytest.LogCaptureFixture
) -> None:
    users = write(tmp_path / "users", "quin@example.test:{ROT13}frperg")
    passwd = PasswdFile(users, BASE)
    assert passwd.lookup("quin@example.test") is not None
    assert passwd.verify("quin@example.test", "secret") is None
    assert passwd.verify("quin@example.test", "") is None
    assert "login disabled" in str(passwd.problems[0])
    assert any("ROT13" in r.getMessage() for r in auth_log.records)


def test_user_without_password_cannot_log_in(tmp_path: Path) -> None:
    passwd = PasswdFile(write(tmp_path / "users", "rita@example.test::::::"), BASE)
    assert passwd.lookup("rita@example.test") is not None
    assert passwd.verify("rita@example.test", "") is None


@pytest.mark.parametrize(
    "login",
    [
        "../x@example.test",
        "a@../d",
        "a/b@example.test",
        "a@ex/ample.test",
        "a\0b@example.test",
        ".hidden@example.test",
        "a@.example.test",
        "..",
        "@example.test",
        "a@",
        "a@b@example.test",
        "a\\b@example.test",
        "tab\there@example.test",
        "nbsp\N{NO-BREAK SPACE}@example.test",
        "zero\N{ZERO WIDTH SPACE}width@example.test",
    ],
)
def test_path_escape_attempts_are_refused(tmp_path: Path, login: str) -> None:
    with pytest.raises(LineError):
        parse_line(f"{login}:{{PLAIN}}x", 1, BASE)
    users = write(tmp_path / "users", f"{login}:{{PLAIN}}x", "ok@example.test:{PLAIN}x")
    passwd = PasswdFile(users, BASE)
    assert [u.login for u in passwd.users()] == ["ok@example.test"]
    assert [p.lineno for p in passwd.problems] == [1]


def test_lookup_of_escaping_names_finds_nothing(tmp_path: Path) -> None:
    passwd = PasswdFile(write(tmp_path / "users", "ok@example.test:{PLAIN}x"), BASE)
    for name in ("../ok@example.test", "ok@../example.test", "", "@", "ok@example.test/.."):
        assert passwd.lookup(name) is None


def test_user_named_like_a_domain_cannot_own_that_domains_mail(tmp_path: Path) -> None:
    users = write(
        tmp_path / "users",
        "alice@example.test:{PLAIN}x",
        "example.test:{PLAIN}x",
        "bob@other.test:{PLAIN}x",
    )
    passwd = PasswdFile(users, BASE)
    assert [u.login for u in passwd.users()] == ["bob@other.test"]
    assert [p.lineno for p in passwd.problems] == [1, 2]
    assert "overlaps" in passwd.problems[0].reason


def test_location_must_stay_under_the_root(tmp_path: Path) -> None:
    # The %h of a user's own home field cannot lead a base location out of its root.
    users = write(tmp_path / "users", "sam@example.test:{PLAIN}x::::/etc")
    passwd = PasswdFile(users, "maildir:/srv/mail/%h/Maildir")
    assert passwd.lookup("sam@example.test") is not None  # "/srv/mail//etc" -> /srv/mail/etc
    with pytest.raises(LineError, match="escapes"):
        parse_line("sam@example.test:{PLAIN}x::::/../..", 1, "maildir:/srv/mail/%h")


def test_reload_on_edit(tmp_path: Path) -> None:
    users = write(
        tmp_path / "users", "alice@example.test:{PLAIN}secret", "bob@example.test:{PLAIN}x"
    )
    passwd = PasswdFile(users, BASE)
    assert passwd.verify("alice@example.test", "secret") is not None
    assert passwd.reload_if_changed() is False
    write(tmp_path / "users", "alice@example.test:{PLAIN}changed", "bob@example.test:{PLAIN}x")
    assert passwd.verify("alice@example.test", "secret") is None
    assert passwd.verify("alice@example.test", "changed") is not None
    # An atomic replace (new inode) is seen too, even with the same size.
    replacement = write(tmp_path / "users.new", "alice@example.test:{PLAIN}chang3d")
    os.replace(replacement, users)
    assert passwd.verify("alice@example.test", "chang3d") is not None
    assert passwd.lookup("bob@example.test") is None


def test_missing_file_means_no_users(tmp_path: Path, auth_log: pytest.LogCaptureFixture) -> None:
    passwd = PasswdFile(tmp_path / "absent", BASE)
    assert passwd.users() == [] and passwd.lookup("a@b") is None
    assert any("no such file" in r.getMessage() for r in auth_log.records)
    write(tmp_path / "absent", "alice@example.test:{PLAIN}secret")
    assert passwd.verify("alice@example.test", "secret") is not None


def test_missing_file_is_logged_once(tmp_path: Path, auth_log: pytest.LogCaptureFixture) -> None:
    passwd = PasswdFile(tmp_path / "absent", BASE)
    for _ in range(5):
        assert passwd.lookup("alice@example.test") is None
    assert sum("no such file" in r.getMessage() for r in auth_log.records) == 1


def test_unreadable_file_keeps_the_last_read(
    tmp_path: Path, auth_log: pytest.LogCaptureFixture
) -> None:
    users = write(tmp_path / "users", "alice@example.test:{PLAIN}secret")
    passwd = PasswdFile(users, BASE)
    users.unlink()
    users.mkdir()  # read_text() now fails with EISDIR, whoever runs the test
    for _ in range(3):
        assert passwd.verify("alice@example.test", "secret") is not None
    assert sum("keeping the last read" in r.getMessage() for r in auth_log.records) == 1
    users.rmdir()
    write(users, "alice@example.test:{PLAIN}next")
    assert passwd.verify("alice@example.test", "next") is not None


_name_chars = st.characters(codec="utf-8", exclude_characters="\n\r")


@settings(max_examples=300, deadline=None)
@example("0", "", "\N{SUPERSCRIPT TWO}")  # str.isdigit() is true for it, int() refuses it
@given(
    st.text(_name_chars, max_size=20),
    st.text(_name_chars, max_size=20),
    st.text(_name_chars, max_size=30),
)
def test_parse_line_accepts_only_safe_names(name: str, domain: str, rest: str) -> None:
    login = f"{name}@{domain}" if domain else name
    try:
        entry = parse_line(f"{login}:{{PLAIN}}x:{rest}", 1, BASE)
    except LineError:
        return
    path = entry.user.mail_location.removeprefix("maildir:").split(":", 1)[0]
    assert path.startswith("/srv/mail/") and "/../" not in path + "/"
    for part in (entry.user.username, entry.user.domain):
        assert "/" not in part and "\0" not in part and not part.startswith(".")
