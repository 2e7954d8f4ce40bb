"""Changing the users file the way an admin's editor would, but safely: the whole file is
rewritten to a temporary file in the same folder, fsynced and renamed over the old one, so a
reader (the running server) sees the old file or the new one, never half of either. Comments,
blank lines, order and the file's owner, group and mode are kept (a users file made readable
by the mail user's group stays so after ``maa user add`` as root); concurrent edits are
serialised with a lock on the folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from maa.auth.passwdfile import FIELD_COUNT, LineError, check_login, parse_line, split_login

# A new users file is only readable by its owner: it holds password hashes.
NEW_FILE_MODE = 0o600


class UserExistsError(LookupError):
    pass


class UserNotFoundError(LookupError):
    pass


def _key(login: str) -> tuple[str, str]:
    name, domain = split_login(login)
    return name, domain.lower()


def find_line(lines: list[str], login: str) -> int | None:
    """Index of the line for ``login`` (domain compared case-insensitively), if any."""
    wanted = _key(login)
    for index, line in enumerate(lines):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if _key(text.split(":", 1)[0]) == wanted:
            return index
    return None


def make_line(
    login: str,
    stored_password: str,
    *,
    uid: int | None = None,
    gid: int | None = None,
    home: str | None = None,
    mail: str | None = None,
) -> str:
    """A users-file line; raises LineError for values the format cannot hold."""
    check_login(login)
    if ":" in stored_password or any(c in stored_password for c in "\r\n\0"):
        raise LineError(
            "the password contains ':' or a line break, which the users file cannot hold "
            "as it is: use a hashed scheme or PLAIN.B64"
        )
    if home is not None and (":" in home or not os.path.isabs(home)):
        raise LineError(f"home {home!r} must be an absolute path without ':'")
    extra = ""
    if mail is not None:
        if not mail or any(c.isspace() for c in mail):
            raise LineError(f"mail location {mail!r} must be non-empty, without spaces")
        extra = f"userdb_mail={mail}"
    fields = [login, stored_password, _id(uid), _id(gid), "", home or "", "", extra]
    assert len(fields) == FIELD_COUNT
    return ":".join(fields)


def _id(value: int | None) -> str:
    return "" if value is None else str(value)


@contextlib.contextmanager
def _folder_lock(path: Path) -> Iterator[None]:
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def atomic_write(path: Path, text: str, *, mode: int, owner: tuple[int, int] | None = None) -> None:
    """Replace ``path`` by ``text``: temp file in the same folder, fsync, rename, fsync folder.
    The new file gets ``mode`` and, when given, the ``(uid, gid)`` of ``owner``, before the
    rename, so no reader ever sees it with other permissions."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as out:
            out.write(text)
            out.flush()
            st = os.fstat(out.fileno())
            if owner is not None and (st.st_uid, st.st_gid) != owner:
                try:
                    os.fchown(out.fileno(), *owner)
                except PermissionError:
                    if os.geteuid() == 0:
                        raise
                    # Not root: keep the uid (ours); a group we are not in cannot be kept.
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def edit(path: Path, change: Callable[[list[str]], list[str]]) -> None:
    """Apply ``change`` to the file's lines (without line ends) under the folder lock."""
    path = Path(path)
    with _folder_lock(path):
        try:
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            st = os.stat(path)
            mode = st.st_mode & 0o7777
            owner: tuple[int, int] | None = (st.st_uid, st.st_gid)
        except FileNotFoundError:
            text, mode, owner = "", NEW_FILE_MODE, None
        lines = text.splitlines()
        new_lines = change(lines)
        atomic_write(path, "".join(line + "\n" for line in new_lines), mode=mode, owner=owner)


def add_user(path: Path, line: str, mail_location_base: str) -> None:
    """Append ``line`` (from ``make_line``) unless its user is there already."""
    parse_line(line, 0, mail_location_base)  # what the server would refuse is refused here
    login = line.split(":", 1)[0]

    def change(lines: list[str]) -> list[str]:
        if find_line(lines, login) is not None:
            raise UserExistsError(f"user {login} already exists in {path}")
        return [*lines, line]

    edit(path, change)


def delete_user(path: Path, login: str) -> None:
    def change(lines: list[str]) -> list[str]:
        index = find_line(lines, login)
        if index is None:
            raise UserNotFoundError(f"no user {login} in {path}")
        return lines[:index] + lines[index + 1 :]

    edit(path, change)


def set_password(path: Path, login: str, stored_password: str) -> None:
    """Replace the password field of ``login``'s line, keeping every other field."""
    make_line(login, stored_password)  # the same checks as for a new line

    def change(lines: list[str]) -> list[str]:
        index = find_line(lines, login)
        if index is None:
            raise UserNotFoundError(f"no user {login} in {path}")
        fields = lines[index].strip().split(":", FIELD_COUNT - 1)
        if len(fields) < 2:
            fields.append("")
        fields[1] = stored_password
        return [*lines[:index], ":".join(fields), *lines[index + 1 :]]

    edit(path, change)
