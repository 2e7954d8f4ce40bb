"""``maa user``: atomic edits of the users file that the server sees at once."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from test_pw import run_maa

from maa.auth import open_passwd_file
from maa.cli import main
from maa.config import Config


@pytest.fixture
def cfg(maa_config: Config) -> str:
    return str(maa_config.path)


def users_file(config: Config) -> Path:
    return Path(config.auth.passwd_file)


def test_add_then_auth_test_round_trip(
    maa_config: Config, cfg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    passwd = open_passwd_file(maa_config)  # as a running server holds it
    assert main(["user", "add", "erin@Example.TEST", "-p", "pässword", "-c", cfg]) == 0
    assert main(["auth", "test", "-c", cfg, "erin@example.test", "pässword"]) == 0
    out = capsys.readouterr().out
    assert "passdb: erin@example.test auth succeeded" in out
    assert f"mail=maildir:{maa_config.data_dir}/mail/example.test/erin" in out
    assert main(["auth", "test", "-c", cfg, "erin@example.test", "wrong"]) == 1
    assert "auth failed" in capsys.readouterr().out
    # The server's PasswdFile sees the new user without a restart.
    user = passwd.verify("erin@example.test", "pässword")
    assert user is not None and user.login == "erin@Example.TEST"


def test_add_keeps_comments_order_and_mode(maa_config: Config, cfg: str) -> None:
    path = users_file(maa_config)
    original = "# staff\n\n" + path.read_text() + "# end\n"
    path.write_text(original)
    os.chmod(path, 0o640)
    inode = path.stat().st_ino
    assert main(["user", "add", "fay@example.test", "-p", "x", "-s", "SSHA256", "-c", cfg]) == 0
    text = path.read_text()
    assert text.startswith(original)
    new_line = text[len(original) :]
    assert new_line.startswith("fay@example.test:{SSHA256}") and new_line.endswith("::::::\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.stat().st_ino != inode  # replaced by rename, not rewritten in place
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".users")] == []


def test_add_with_fields(maa_config: Config, cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["user", "add", "gus@example.test", "-p", "x", "--uid", "1234", "--gid", "1235"]
    argv += ["--home", "/home/gus", "--mail", "maildir:~/Maildir", "-c", cfg]
    assert main(argv) == 0
    assert main(["auth", "lookup", "gus@example.test", "-c", cfg]) == 0
    out = capsys.readouterr().out
    for field in ("uid=1234", "gid=1235", "home=/home/gus", "mail=maildir:/home/gus/Maildir"):
        assert f"  {field}\n" in out


def test_add_existing_user_fails_clearly(
    maa_config: Config, cfg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = users_file(maa_config).read_text()
    assert main(["user", "add", "alice@EXAMPLE.test", "-p", "x", "-c", cfg]) == 1
    assert "already exists" in capsys.readouterr().err
    assert users_file(maa_config).read_text() == before


@pytest.mark.parametrize(
    "name", ["../x@example.test", "a@../d", "a/b@example.test", ".hidden@example.test", "a:b", ""]
)
def test_add_refuses_bad_names(
    maa_config: Config, cfg: str, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = users_file(maa_config).read_text()
    assert main(["user", "add", name, "-p", "x", "-c", cfg]) == 1
    assert capsys.readouterr().err.startswith("maa user: ")
    assert users_file(maa_config).read_text() == before


def test_add_refuses_values_the_file_cannot_hold(maa_config: Config, cfg: str) -> None:
    assert main(["user", "add", "h@example.test", "-p", "a:b", "-s", "PLAIN", "-c", cfg]) == 1
    assert main(["user", "add", "h@example.test", "-p", "x", "--home", "rel", "-c", cfg]) == 1
    assert main(["user", "add", "h@example.test", "-p", "x", "--mail", "a b", "-c", cfg]) == 1
    assert main(["user", "add", "h@example.test", "-p", "a:b", "-s", "PLAIN.B64", "-c", cfg]) == 0
    assert open_passwd_file(maa_config).verify("h@example.test", "a:b") is not None


def test_passwd_changes_only_the_password(maa_config: Config, cfg: str) -> None:
    path = users_file(maa_config)
    path.write_text(path.read_text() + "ida@example.test:{PLAIN}old:2000:2000::/home/ida::\n")
    assert main(["user", "passwd", "ida@example.test", "-p", "new", "-c", cfg]) == 0
    line = path.read_text().splitlines()[-1]
    assert line.startswith("ida@example.test:{SHA512-CRYPT}$6$")
    assert line.endswith(":2000:2000::/home/ida::")
    passwd = open_passwd_file(maa_config)
    assert passwd.verify("ida@example.test", "new") is not None
    assert passwd.verify("ida@example.test", "old") is None
    assert main(["user", "passwd", "nobody@example.test", "-p", "x", "-c", cfg]) == 1


def test_del_and_list(maa_config: Config, cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["user", "list", "-c", cfg]) == 0
    assert capsys.readouterr().out.split() == [
        "alice@example.test",
        "bob@example.test",
        "carol",
        "dave@example.test",
    ]
    assert main(["user", "del", "bob@example.test", "-c", cfg]) == 0
    assert capsys.readouterr().out.startswith("deleted bob@example.test")
    assert main(["user", "-c", cfg, "list"]) == 0  # -c before the action works too
    assert capsys.readouterr().out.split() == ["alice@example.test", "carol", "dave@example.test"]
    assert main(["user", "del", "bob@example.test", "-c", cfg]) == 1
    assert "no user" in capsys.readouterr().err


def test_add_creates_a_private_users_file(tmp_path: Path, maa_config: Config, cfg: str) -> None:
    users_file(maa_config).unlink()
    assert main(["user", "add", "jan@example.test", "-p", "x", "-c", cfg]) == 0
    assert stat.S_IMODE(users_file(maa_config).stat().st_mode) == 0o600


def test_user_add_prompts_as_a_program(maa_config: Config, cfg: str) -> None:
    result = run_maa("user", "add", "kai@example.test", "-c", cfg, stdin="s3cret\ns3cret\n")
    assert result.returncode == 0, result.stderr
    check = run_maa("auth", "test", "kai@example.test", "-c", cfg, stdin="s3cret\n")
    assert check.returncode == 0, check.stderr
    assert "auth succeeded" in check.stdout
