"""``[mail] location`` with Dovecot's options: parsing, paths made absolute, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from maa.auth.passwdfile import PasswdFile
from maa.config import ConfigError, parse_config
from maa.storage import open_store
from maa.storage.location import LocationError, parse_location
from maa.storage.mbox import MboxStore


def _config(tmp_path: Path, location: str):  # type: ignore[no-untyped-def]
    text = f'[server]\ndata_dir = "{tmp_path}"\n[mail]\nlocation = "{location}"\n'
    return parse_config(text, tmp_path / "maa.toml")


def test_relative_path_and_inbox_resolved_against_data_dir(tmp_path: Path) -> None:
    config = _config(tmp_path, "mbox:mail/%d/%n:INBOX=spool/%n")
    assert config.mail_location_base() == f"mbox:{tmp_path}/mail/%d/%n:INBOX={tmp_path}/spool/%n"


def test_debian_default_from_home(tmp_path: Path) -> None:
    config = _config(tmp_path, "mbox:~/mail:INBOX=/var/mail/%n")
    base = config.mail_location_base()
    assert base == "mbox:~/mail:INBOX=/var/mail/%n"
    users = tmp_path / "users"
    users.write_text("alice:{PLAIN}x::::/home/alice\nbob:{PLAIN}x::::\n")
    passwd = PasswdFile(users, base)
    alice = passwd.lookup("alice")
    assert alice is not None
    assert alice.mail_location == "mbox:/home/alice/mail:INBOX=/var/mail/alice"
    assert passwd.lookup("bob") is None  # no home for '~'
    assert "home" in passwd.problems[0].reason


def test_doubled_colon_is_a_literal_colon(tmp_path: Path) -> None:
    parsed = parse_location("mbox:/srv/a::b:INBOX=/spool/x::y")
    assert parsed.path == "/srv/a:b" and parsed.option("INBOX") == "/spool/x:y"
    assert str(parsed) == "mbox:/srv/a::b:INBOX=/spool/x::y"
    store = open_store(f"mbox:{tmp_path}/a::b:INBOX={tmp_path}/s::p")
    assert isinstance(store, MboxStore)
    assert store.root == tmp_path / "a:b" and store.inbox == tmp_path / "s:p"


@pytest.mark.parametrize(
    ("location", "words"),
    [
        ("mbox:mail:INDEX=/var/index/%n", "INDEX="),
        ("mbox:mail:CONTROL=/var/control/%n", "CONTROL="),
        ("mbox:mail:LAYOUT=maildir++", "LAYOUT=maildir++"),
        ("maildir:mail:LAYOUT=fs", "LAYOUT=fs"),
        ("mbox:mail:inbox=/var/mail/%n", "upper case"),
        ("mbox:mail:NOSUCH=1", "NOSUCH"),
        ("mbox:mail:INBOX=", "needs a value"),
        ("mbox:mail:INBOX=/a:INBOX=/b", "twice"),
        ("memory:x:INBOX=/a", "INBOX="),
    ],
)
def test_unsupported_options_refused_by_name(tmp_path: Path, location: str, words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _config(tmp_path, location)
    assert "mail.location" in str(raised.value) and words in str(raised.value)


def test_supported_layouts_accepted() -> None:
    assert parse_location("mbox:/m:LAYOUT=fs").option("LAYOUT") == "fs"
    assert parse_location("maildir:/m:LAYOUT=maildir++").option("LAYOUT") == "maildir++"
    with pytest.raises(LocationError):
        parse_location("mbox:")


def test_userdb_mail_with_unknown_option_skips_the_line(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text("ann:{PLAIN}x::::::userdb_mail=mbox:/m/ann:INDEX=/i\n")
    passwd = PasswdFile(users, f"mbox:{tmp_path}/mail/%n")
    assert passwd.lookup("ann") is None
    assert "INDEX=" in passwd.problems[0].reason


def test_maildir_inbox_elsewhere(tmp_path: Path) -> None:
    store = open_store(f"maildir:{tmp_path}/Maildir:INBOX={tmp_path}/inbox")
    uid = store.folder("INBOX").append(b"Subject: x\r\n\r\nbody\r\n")
    assert (tmp_path / "inbox" / "cur").is_dir() or (tmp_path / "inbox" / "new").is_dir()
    assert not (tmp_path / "Maildir" / "cur").exists()
    store.create_folder("Archive")
    assert (tmp_path / "Maildir" / ".Archive" / "cur").is_dir()
    assert [info.uid for info in store.folder("INBOX").messages()] == [uid]
