"""Editing the users file: lines the parser reads back, atomic replacement, concurrency."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from maa.auth.passwdfile import LineError, PasswdFile, parse_line
from maa.auth.passwdfile_edit import (
    UserExistsError,
    UserNotFoundError,
    add_user,
    atomic_write,
    delete_user,
    find_line,
    make_line,
    set_password,
)

BASE = "maildir:/srv/mail/%d/%n"
_part = st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@example("#", "", None)  # would have been written as a comment line
@given(_part, st.one_of(st.just(""), _part), st.one_of(st.none(), st.integers(1, 2**31)))
def test_make_line_reads_back_or_refuses(name: str, domain: str, uid: int | None) -> None:
    login = f"{name}@{domain}" if domain else name
    try:
        line = make_line(login, "{PLAIN}x", uid=uid, gid=uid, home="/home/h")
    except LineError:
        return
    entry = parse_line(line, 1, BASE)
    assert entry.user.login == login
    assert (entry.user.uid, entry.user.gid, entry.user.home) == (uid, uid, "/home/h")
    assert find_line(["# c", "", line], login) == 2


def test_a_new_line_is_never_a_comment() -> None:
    with pytest.raises(LineError, match="comment"):
        make_line("#alice@example.test", "{PLAIN}x")


def test_find_line_compares_domains_case_insensitively() -> None:
    lines = ["# alice@example.test:{PLAIN}x", "Alice@Example.TEST:{PLAIN}x", "bob:{PLAIN}y"]
    assert find_line(lines, "Alice@example.test") == 1
    assert find_line(lines, "alice@example.test") is None  # the name part is as written
    assert find_line(lines, "bob") == 2
    assert find_line(lines, "bob@example.test") is None


def test_add_delete_set_password(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("# header\n\ncarol:{PLAIN}a::::::\n")
    add_user(path, make_line("dan@example.test", "{PLAIN}b"), BASE)
    with pytest.raises(UserExistsError):
        add_user(path, make_line("dan@EXAMPLE.test", "{PLAIN}c"), BASE)
    with pytest.raises(LineError):
        add_user(path, "bad/name@example.test:{PLAIN}b", BASE)
    set_password(path, "dan@example.test", "{PLAIN}new")
    with pytest.raises(UserNotFoundError):
        set_password(path, "nobody", "{PLAIN}x")
    passwd = PasswdFile(path, BASE)
    assert passwd.verify("dan@example.test", "new") is not None
    delete_user(path, "carol")
    with pytest.raises(UserNotFoundError):
        delete_user(path, "carol")
    assert path.read_text() == "# header\n\ndan@example.test:{PLAIN}new::::::\n"


def test_concurrent_adds_lose_nobody(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("")
    names = [f"u{i}@example.test" for i in range(40)]

    def add(name: str) -> None:
        add_user(path, make_line(name, "{PLAIN}x"), BASE)

    threads = [threading.Thread(target=add, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(u.login for u in PasswdFile(path, BASE).users()) == sorted(names)


def test_atomic_write_leaves_nothing_behind_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text("old\n")
    with pytest.raises(UnicodeEncodeError):
        atomic_write(path, "a lone surrogate \ud800 cannot be written\n", mode=0o600)
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users"]
