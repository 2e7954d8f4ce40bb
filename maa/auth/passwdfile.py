"""Dovecot's passwd-file: the users file serving both as passdb and userdb.

One user a line, ``user:{SCHEME}hash:uid:gid:gecos:home:shell:extra_fields``; trailing fields
may be left out, ``#`` starts a comment line. ``user`` is bare (``carol``) or
``name@domain``; domains match case-insensitively and are lower-cased in paths. Extra fields
are space-separated ``key=value`` (or bare ``key``); those named ``userdb_*`` are userdb
fields (``userdb_mail``, ``userdb_uid``, ``userdb_gid``, ``userdb_home`` override the line's
own), the rest belong to the passdb and are kept but not acted on.

A bad line is logged with file and line number and skipped; every other user keeps working.
The file is re-read when its inode, size or mtime changes, checked by one ``stat`` at every
lookup, so an admin's edit is live at once without a restart.
"""

from __future__ import annotations

import dataclasses
import functools
import grp
import os
import pwd
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from maa.auth.model import MailUser
from maa.auth.schemes import UnknownSchemeError, parse_stored, verify_password
from maa.auth.variables import VariableError, expand, fixed_prefix
from maa.log import service_log
from maa.storage.location import PATH_OPTIONS, Location, LocationError, parse_location

log = service_log("auth")

# Fields of a line, in order; the last one (extra fields) may itself contain ':'.
FIELD_COUNT = 8
# Characters no user or domain name may hold: path separators, NUL and the other controls,
# and the separators of this file's own syntax.
_FORBIDDEN = frozenset("/\\:\0\n\r\t ") | frozenset(chr(c) for c in range(32)) | {"\x7f"}
_FIELD_NAME = re.compile(r"[A-Za-z0-9_.-]+")
# Controls have no place in a path; NUL would cut it short in every system call.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Userdb fields a line's extra fields may override.
_OVERRIDES = ("mail", "uid", "gid", "home")


class LineError(ValueError):
    pass


@dataclass(frozen=True)
class LineProblem:
    path: Path
    lineno: int
    reason: str
    # False when the user is kept (as a userdb entry) but cannot log in.
    skipped: bool = True

    def __str__(self) -> str:
        outcome = "line skipped" if self.skipped else "login disabled"
        return f"{self.path}:{self.lineno}: {self.reason} ({outcome})"


@dataclass(frozen=True)
class PasswdEntry:
    """One parsed line: the user, the stored password (``""`` when none) and the passdb's
    extra fields."""

    lineno: int
    user: MailUser
    password: str
    passdb_extra: Mapping[str, str] = field(default_factory=dict)


def check_name_part(part: str, what: str) -> None:
    """Refuse a user or domain name that could leave the mail root or break the file."""
    if not part:
        raise LineError(f"empty {what}")
    if part.startswith("."):
        raise LineError(f"{what} {part!r} starts with a dot")
    bad = sorted(set(part) & _FORBIDDEN)
    if bad:
        raise LineError(f"{what} {part!r} contains {bad[0]!r}")
    if not part.isprintable():  # no-break or zero-width spaces, controls: invisible in logs
        raise LineError(f"{what} {part!r} contains an invisible character")
    try:
        part.encode("utf-8")
    except UnicodeEncodeError:
        raise LineError(f"{what} {part!r} is not UTF-8") from None


def split_login(login: str) -> tuple[str, str]:
    """``name@domain`` -> (name, domain); bare names have domain ``""``."""
    name, at, domain = login.rpartition("@")
    if not at:
        return login, ""
    return name, domain


def check_login(login: str) -> tuple[str, str]:
    """Split and validate a login from the users file or the admin's command line."""
    name, domain = split_login(login)
    if "@" in login and not domain:
        raise LineError(f"empty domain in {login!r}")
    check_name_part(name, "user name")
    if name.startswith("#"):
        raise LineError(f"user name {name!r} starts with '#': the line would be a comment")
    if "@" in name:
        raise LineError(f"user name {name!r} contains '@'")
    if domain:
        check_name_part(domain, "domain")
    return name, domain


def _parse_id(value: str, what: str) -> int | None:
    if not value:
        return None
    if value.isascii() and value.isdigit():
        number = int(value)
        if number >= 2**32 - 1:
            raise LineError(f"{what} {value} is out of range")
    else:
        try:
            number = pwd.getpwnam(value).pw_uid if what == "uid" else grp.getgrnam(value).gr_gid
        except (KeyError, ValueError):
            raise LineError(f"unknown {what} {value!r}") from None
    if number == 0:
        raise LineError(f"{what} 0 (root) is not allowed")
    return number


def _parse_extra(text: str) -> tuple[dict[str, str], dict[str, str]]:
    userdb: dict[str, str] = {}
    passdb: dict[str, str] = {}
    for item in text.split():
        key, _, value = item.partition("=")
        if not _FIELD_NAME.fullmatch(key):
            raise LineError(f"extra field {item!r} has no proper name (a ':' too many?)")
        if key.startswith("userdb_"):
            userdb[key.removeprefix("userdb_")] = value
        else:
            passdb[key] = value
    return userdb, passdb


@functools.lru_cache(maxsize=8)
def _location_root(location: str) -> tuple[str, str]:
    """(driver, directory under which every expanded path must stay; "" when none)."""
    parsed = _parse(location)
    prefix = fixed_prefix(parsed.path)
    if prefix.startswith("~"):
        return parsed.driver, ""  # under each user's home: nothing shared to escape from
    root = prefix if prefix.endswith("/") else os.path.dirname(prefix)
    return parsed.driver, os.path.normpath(root) if root else ""


def _parse(location: str) -> Location:
    try:
        return parse_location(location)
    except LocationError as e:
        raise LineError(f"mail location {location!r}: {e}") from None


def _from_home(template: str, home: str | None, what: str) -> str:
    """``template`` with a leading ``~`` made the user's home, as Dovecot does in the path
    and in ``INBOX=``."""
    location = _parse(template)
    uses_home = any(
        p == "~" or p.startswith(("~/", "%h", "%{home}"))
        for p in (location.path, *(v for k, v in location.options if k in PATH_OPTIONS))
    )
    if not uses_home:
        return template
    if home is None:
        raise LineError(f"{what} uses the home directory ('~' or %h) but the user has none")

    def expand_tilde(path: str) -> str:
        return home + path[1:] if path == "~" or path.startswith("~/") else path

    return str(location.map_paths(expand_tilde))


def _normalise_location(location: str) -> str:
    """``driver:path[:options]`` with its paths checked absolute and normalised."""
    parsed = _parse(location)

    def normalise(path: str) -> str:
        if not os.path.isabs(path):
            raise LineError(f"mail location {location!r} has a path that is not absolute")
        return os.path.normpath(path)

    return str(parsed.map_paths(normalise))


def _under(path: str, root: str) -> bool:
    """Strictly below ``root``: a user's mail is never the root holding everyone's."""
    return path != root and path.startswith(root.rstrip("/") + "/")


def parse_line(line: str, lineno: int, mail_location_base: str) -> PasswdEntry:
    """One non-comment line; raises LineError saying what is wrong with it."""
    if "\0" in line:
        raise LineError("NUL byte in the line")
    fields = line.split(":", FIELD_COUNT - 1)
    fields += [""] * (FIELD_COUNT - len(fields))
    login, password, uid_text, gid_text, _gecos, home_field, _shell, extra_text = fields
    username, domain = check_login(login)
    domain = domain.lower()
    userdb, passdb = _parse_extra(extra_text)
    uid = _parse_id(userdb.get("uid", uid_text), "uid")
    gid = _parse_id(userdb.get("gid", gid_text), "gid")
    values = {"user": f"{username}@{domain}" if domain else username}
    values |= {"username": username, "domain": domain, "home": ""}
    try:
        home = expand(userdb.get("home", home_field), values) or None
        if home is not None:
            if not os.path.isabs(home):
                raise LineError(f"home {home!r} is not an absolute path")
            home = os.path.normpath(home)
            values["home"] = home
        if "mail" in userdb:
            # The admin's own location for this user: it may point anywhere.
            template = _from_home(userdb["mail"], home, "userdb_mail")
            mail_location = _normalise_location(expand(template, values))
        else:
            template = _from_home(mail_location_base, home, "[mail] location")
            mail_location = _normalise_location(expand(template, values))
            _driver, root = _location_root(mail_location_base)
            path = _parse(mail_location).path
            if root and not _under(path, root):
                raise LineError(f"mail location {mail_location!r} escapes {root!r}")
    except VariableError as e:
        raise LineError(str(e)) from None
    for what, value in (("home", home or ""), ("mail location", mail_location)):
        if _CONTROL.search(value):
            raise LineError(f"{what} {value!r} contains a control character")
    extra = {k: v for k, v in userdb.items() if k not in _OVERRIDES}
    user = MailUser(
        login=login,
        username=username,
        domain=domain,
        uid=uid,
        gid=gid,
        home=home,
        mail_location=mail_location,
        extra=extra,
    )
    return PasswdEntry(lineno, user, password, passdb)


def _location_path(user: MailUser) -> str:
    return _parse(user.mail_location).path


@dataclass
class _Snapshot:
    entries: dict[tuple[str, str], PasswdEntry]
    problems: list[LineProblem]


def parse_text(text: str, path: Path, mail_location_base: str) -> _Snapshot:
    entries: dict[tuple[str, str], PasswdEntry] = {}
    problems: list[LineProblem] = []
    for lineno, raw_line in enumerate(text.splitlines(), 1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            entry = parse_line(line, lineno, mail_location_base)
        except LineError as e:
            problems.append(LineProblem(path, lineno, str(e)))
            continue
        if entry.password:
            try:
                parse_stored(entry.password)
            except UnknownSchemeError as e:
                # Still a userdb entry (mail keeps being delivered), but no login.
                problems.append(LineProblem(path, lineno, str(e), skipped=False))
                entry = dataclasses.replace(entry, password="")
        key = (entry.user.username, entry.user.domain)
        if key in entries:
            first = entries[key].lineno
            problems.append(
                LineProblem(path, lineno, f"user {entry.user.login!r} already on line {first}")
            )
            continue
        entries[key] = entry
    _drop_nested_locations(entries, problems, path)
    return _Snapshot(entries, problems)


def _drop_nested_locations(
    entries: dict[tuple[str, str], PasswdEntry], problems: list[LineProblem], path: Path
) -> None:
    """A bare user named like a domain (``example.test``) would get the folder holding that
    domain's mailboxes: refuse any user whose mail lies inside or around another user's."""
    owners: dict[str, list[tuple[str, str]]] = {}
    for key, entry in entries.items():
        owners.setdefault(_location_path(entry.user), []).append(key)
    refused: set[tuple[str, str]] = set()
    for location, keys in owners.items():
        cut = location.rfind("/")
        while cut > 0:
            parent = owners.get(location[:cut])
            if parent is not None:
                refused.update(keys, parent)
            cut = location.rfind("/", 0, cut)
    for key in sorted(refused, key=lambda k: entries[k].lineno):
        entry = entries.pop(key)
        problems.append(
            LineProblem(
                path,
                entry.lineno,
                f"mail location of {entry.user.login!r} overlaps another user's",
            )
        )
    problems.sort(key=lambda p: p.lineno)


# (st_dev, st_ino, st_size, st_mtime_ns) of the users file as last read.
_Stamp = tuple[int, int, int, int]
_NEVER: _Stamp = (-1, -1, -1, -1)
# Seconds after a write during which another same-size write may leave mtime unchanged
# (filesystems with one- or two-second timestamps).
_MTIME_SETTLE = 2.0


def readable_by(path: Path, user: str) -> bool:
    """Whether ``user`` (its uid, primary and supplementary groups) may read ``path`` and
    reach it through its folders: what the server can still reread after dropping to it."""
    entry = pwd.getpwnam(user)
    if entry.pw_uid == 0:
        return True
    gids = {entry.pw_gid} | {g.gr_gid for g in grp.getgrall() if user in g.gr_mem}

    def allowed(st: os.stat_result, owner_bit: int, group_bit: int, other_bit: int) -> bool:
        if st.st_uid == entry.pw_uid:
            return bool(st.st_mode & owner_bit)
        if st.st_gid in gids:
            return bool(st.st_mode & group_bit)
        return bool(st.st_mode & other_bit)

    path = Path(path).resolve()
    try:
        if not allowed(os.stat(path), 0o400, 0o040, 0o004):
            return False
        return all(allowed(os.stat(folder), 0o100, 0o010, 0o001) for folder in path.parents)
    except OSError:
        return False


class PasswdFile:
    """A users file as ``UserDB`` and password checker, re-read whenever it changes."""

    def __init__(
        self, path: Path, mail_location_base: str, *, default_realm: str | None = None
    ) -> None:
        self.path = Path(path)
        self.mail_location_base = mail_location_base
        self.default_realm = default_realm.lower() if default_realm else None
        self._lock = threading.Lock()
        self._stamp: _Stamp | None = _NEVER
        # When the file was read in the same second it was written, a later write with the
        # same size could keep the same mtime on a coarse-grained filesystem: read it once
        # more after this time.
        self._recheck_at: float | None = None
        self._snapshot = _Snapshot({}, [])
        self.reload_if_changed()

    @property
    def problems(self) -> list[LineProblem]:
        """The bad lines of the last read."""
        return list(self._snapshot.problems)

    def _stat(self) -> _Stamp | None:
        """The file's identity and version; None when it does not exist."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as e:  # keep serving what was read last
            return (-2, e.errno or 0, 0, 0)
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def _unchanged(self, stamp: _Stamp | None) -> bool:
        if stamp != self._stamp:
            return False
        return self._recheck_at is None or time.time() < self._recheck_at

    def reload_if_changed(self, *, force: bool = False) -> bool:
        """Re-read the file if it changed since the last read (``force``: even if it seems
        not to, as SIGHUP asks after a chmod, which changes no stamp); True when read."""
        if not force and self._unchanged(self._stat()):
            return False
        with self._lock:
            stamp = self._stat()
            if not force and self._unchanged(stamp):
                return False
            self._stamp = stamp
            self._recheck_at = None
            try:
                text = self.path.read_text(encoding="utf-8", errors="surrogateescape")
            except FileNotFoundError:
                log.error(None, f"passwd-file {self.path}: no such file: no users")
                self._stamp = None
                self._snapshot = _Snapshot({}, [])
                return True
            except OSError as e:
                hint = ""
                if isinstance(e, PermissionError):
                    hint = f"; make it readable by uid {os.geteuid()} ([server] user)"
                log.error(
                    None, f"passwd-file {self.path}: {e.strerror}: keeping the last read{hint}"
                )
                return False
            if stamp is not None and time.time() - stamp[3] / 1e9 < _MTIME_SETTLE:
                self._recheck_at = stamp[3] / 1e9 + _MTIME_SETTLE
            snapshot = parse_text(text, self.path, self.mail_location_base)
            for problem in snapshot.problems:
                log.warning(None, f"passwd-file {problem}")
            self._snapshot = snapshot
            return True

    def find(self, name: str) -> PasswdEntry | None:
        """The entry for a login or address: exact name first, then lower-cased like
        Dovecot's default ``auth_username_format = %Lu``, then with the default realm."""
        self.reload_if_changed()
        entries = self._snapshot.entries
        username, domain = split_login(name)
        domain = domain.lower()
        candidates = [(username, domain), (username.lower(), domain)]
        if not domain and self.default_realm:
            candidates += [(username, self.default_realm), (username.lower(), self.default_realm)]
        for key in candidates:
            entry = entries.get(key)
            if entry is not None:
                return entry
        return None

    def lookup(self, name: str) -> MailUser | None:
        entry = self.find(name)
        return entry.user if entry is not None else None

    def users(self) -> list[MailUser]:
        self.reload_if_changed()
        entries = sorted(self._snapshot.entries.values(), key=lambda e: e.lineno)
        return [e.user for e in entries]

    def domains(self) -> frozenset[str]:
        self.reload_if_changed()
        return frozenset(domain for _name, domain in self._snapshot.entries if domain)

    def check_password(self, entry: PasswdEntry, password: str | bytes) -> bool:
        """Whether ``password`` is the entry's; blocking (the scheme may be slow on purpose)."""
        if not entry.password:
            return False
        try:
            return verify_password(entry.password, password, user=entry.user.address)
        except UnknownSchemeError as e:  # refused at parse time; kept for safety
            log.error(None, f"passwd-file {self.path}:{entry.lineno}: {e}")
            return False

    def verify(self, name: str, password: str | bytes) -> MailUser | None:
        """The user when ``password`` is right, else None. Blocking."""
        entry = self.find(name)
        if entry is None or not self.check_password(entry, password):
            return None
        return entry.user
