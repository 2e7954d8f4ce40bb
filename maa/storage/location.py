"""Dovecot's mail location syntax: ``DRIVER:PATH[:KEY=VALUE]...``.

As Dovecot's ``mail_location``: ``mbox:~/mail:INBOX=/var/mail/%u`` keeps folders under
``~/mail`` and INBOX in the system spool file. The text after ``DRIVER:`` is split at ``:``; a
doubled ``::`` is a literal colon (in the path or in a value), and a trailing ``:`` is
ignored, as Dovecot's ``mailbox_list_settings_parse`` has it.

maa implements ``INBOX=`` (mbox and maildir) and accepts ``LAYOUT=`` only with the layout each
driver has (``fs`` for mbox, ``maildir++`` for maildir). Every other option is refused by
name rather than accepted and ignored: a location whose index or control files were meant to
live elsewhere must not silently put them in the mail directory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

DRIVERS = ("maildir", "mbox", "memory")
# Options whose value is a path: made absolute, ``~`` and variables expanded like PATH.
PATH_OPTIONS = ("INBOX",)
# The options each driver implements, and the values it takes (None: any path).
_SUPPORTED: dict[str, dict[str, tuple[str, ...] | None]] = {
    "mbox": {"INBOX": None, "LAYOUT": ("fs",)},
    "maildir": {"INBOX": None, "LAYOUT": ("maildir++",)},
    "memory": {},
}
# Dovecot's other location options (mailbox-list.c): known, but not implemented by maa.
_DOVECOT_OPTIONS = frozenset(
    {
        "ALT",
        "CONTROL",
        "DIRNAME",
        "FULLDIRNAME",
        "INDEX",
        "INDEXPVT",
        "ITERINDEX",
        "LISTINDEX",
        "MAILBOXDIR",
        "NO-NOSELECT",
        "SUBSCRIPTIONS",
        "UTF-8",
        "VOLATILEDIR",
        "NOLOCALUSERS",
        "LAYOUT",
        "INBOX",
    }
)


class LocationError(ValueError):
    pass


@dataclass(frozen=True)
class Location:
    driver: str
    path: str
    # (KEY, VALUE) in the order written; VALUE is "" for a bare KEY.
    options: tuple[tuple[str, str], ...] = ()

    def option(self, key: str) -> str | None:
        for name, value in self.options:
            if name == key:
                return value
        return None

    def map_paths(self, change: Callable[[str], str]) -> Location:
        """The location with ``change`` applied to PATH and to every path-valued option."""
        options = tuple(
            (key, change(value) if key in PATH_OPTIONS else value) for key, value in self.options
        )
        return Location(self.driver, change(self.path), options)

    def __str__(self) -> str:
        parts = [_escape(self.path)]
        for key, value in self.options:
            parts.append(f"{key}={_escape(value)}" if value or key in PATH_OPTIONS else key)
        return f"{self.driver}:" + ":".join(parts)


def _escape(text: str) -> str:
    return text.replace(":", "::")


def _split(text: str) -> list[str]:
    """Dovecot's ``split_next_arg``: split at ``:``, an empty piece joining its neighbours
    with a literal colon, a trailing ``:`` dropped."""
    pieces = text.split(":")
    args: list[str] = []
    i = 0
    while i < len(pieces):
        arg = pieces[i]
        i += 1
        while i < len(pieces) and pieces[i] == "":
            i += 1
            if i >= len(pieces):
                break  # the text ends with ":"
            arg += ":" + pieces[i]
            i += 1
        args.append(arg)
    return args


def parse_location(text: str) -> Location:
    """``text`` parsed and checked: a known driver, a non-empty path, only the options that
    driver implements. Raises LocationError saying what is wrong."""
    driver, sep, rest = text.partition(":")
    if not sep or not driver or not rest:
        raise LocationError(f"{text!r} is not DRIVER:PATH (maildir:… or mbox:…)")
    if driver not in DRIVERS:
        raise LocationError(f"unknown driver {driver!r} (maildir, mbox or memory)")
    path, *rest_args = _split(rest)
    if not path:
        raise LocationError(f"{text!r} has an empty path")
    supported = _SUPPORTED[driver]
    options: list[tuple[str, str]] = []
    for arg in rest_args:
        key, eq, value = arg.partition("=")
        if key not in supported:
            if key in _DOVECOT_OPTIONS:
                raise LocationError(f"option {key}= is not supported by maa's {driver} driver")
            hint = " (options are upper case)" if key.upper() in _DOVECOT_OPTIONS else ""
            raise LocationError(f"unknown option {arg!r}{hint}")
        allowed = supported[key]
        if any(key == seen for seen, _ in options):
            raise LocationError(f"option {key}= given twice")
        if not eq or not value:
            raise LocationError(f"option {key}= needs a value")
        if allowed is not None and value.lower() not in allowed:
            raise LocationError(
                f"{key}={value} is not supported by maa's {driver} driver "
                f"(only {key}={' or '.join(allowed)})"
            )
        options.append((key, value))
    return Location(driver, path, tuple(options))
