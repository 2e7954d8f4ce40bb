"""POP3 commands: one frozen dataclass each, and one table saying where each is allowed and
how its arguments parse (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from maa.proto.pop3.states import State


class CommandError(Exception):
    """The line is not a valid command; ``str(self)`` is the text of the ``-ERR`` reply."""


@dataclass(frozen=True)
class User:
    name: str


@dataclass(frozen=True)
class Pass:
    password: str


@dataclass(frozen=True)
class Auth:
    mechanism: str | None  # None: list the mechanisms (the pre-RFC 5034 form clients probe)
    initial_response: str | None


@dataclass(frozen=True)
class Stls:
    pass


@dataclass(frozen=True)
class Capa:
    pass


@dataclass(frozen=True)
class Stat:
    pass


@dataclass(frozen=True)
class List:
    number: int | None


@dataclass(frozen=True)
class Uidl:
    number: int | None


@dataclass(frozen=True)
class Retr:
    number: int


@dataclass(frozen=True)
class Top:
    number: int
    lines: int


@dataclass(frozen=True)
class Dele:
    number: int


@dataclass(frozen=True)
class Noop:
    pass


@dataclass(frozen=True)
class Rset:
    pass


@dataclass(frozen=True)
class Quit:
    pass


Command = (
    User | Pass | Auth | Stls | Capa | Stat | List | Uidl | Retr | Top | Dele | Noop | Rset | Quit
)


def shown(text: str, limit: int = 40) -> str:
    """Client text safe to echo in a reply: printable ASCII only, and not too much of it."""
    return "".join(c if " " <= c <= "~" else "?" for c in text[:limit])


def _number(text: str) -> int:
    # Digits only: int() would also take "+1", " 1", "1_000" and non-ASCII digits.
    if not text or len(text) > 10 or not (text.isascii() and text.isdigit()):
        raise CommandError(f"Invalid message number: {shown(text)}")
    return int(text)


def _words(args: str, least: int, most: int) -> list[str]:
    words = args.split()
    if len(words) < least:
        raise CommandError("Missing argument.")
    if len(words) > most:
        raise CommandError("Too many arguments.")
    return words


def _user(args: str) -> Command:
    name = args.strip()
    if not name:
        raise CommandError("No username given.")
    return User(name)


def _pass(args: str) -> Command:
    # The password is everything after the single space (it may hold spaces itself).
    if not args:
        raise CommandError("No password given.")
    return Pass(args)


def _auth(args: str) -> Command:
    words = _words(args, 0, 2)
    if not words:
        return Auth(None, None)
    return Auth(words[0].upper(), words[1] if len(words) > 1 else None)


def _optional_number(kind: type[List] | type[Uidl]) -> Callable[[str], Command]:
    def parse(args: str) -> Command:
        words = _words(args, 0, 1)
        return kind(_number(words[0]) if words else None)

    return parse


def _one_number(kind: type[Retr] | type[Dele]) -> Callable[[str], Command]:
    def parse(args: str) -> Command:
        return kind(_number(_words(args, 1, 1)[0]))

    return parse


def _top(args: str) -> Command:
    number, lines = _words(args, 2, 2)
    if not (lines.isascii() and lines.isdigit()) or len(lines) > 10:
        raise CommandError(f"Invalid number of lines: {shown(lines)}")
    return Top(_number(number), int(lines))


def _no_arguments(value: Command) -> Callable[[str], Command]:
    # Arguments after an argument-less command are ignored, as Dovecot does: some clients
    # send "QUIT " or "CAPA " with a trailing space.
    return lambda args: value


@dataclass(frozen=True)
class CommandSpec:
    states: frozenset[State]
    parse: Callable[[str], Command]


_AUTHORIZATION = frozenset({State.AUTHORIZATION})
_TRANSACTION = frozenset({State.TRANSACTION})
_EITHER = frozenset({State.AUTHORIZATION, State.TRANSACTION})

COMMANDS: dict[str, CommandSpec] = {
    "CAPA": CommandSpec(_EITHER, _no_arguments(Capa())),
    "QUIT": CommandSpec(_EITHER, _no_arguments(Quit())),
    "NOOP": CommandSpec(_EITHER, _no_arguments(Noop())),
    "USER": CommandSpec(_AUTHORIZATION, _user),
    "PASS": CommandSpec(_AUTHORIZATION, _pass),
    "AUTH": CommandSpec(_AUTHORIZATION, _auth),
    "STLS": CommandSpec(_AUTHORIZATION, _no_arguments(Stls())),
    "STAT": CommandSpec(_TRANSACTION, _no_arguments(Stat())),
    "LIST": CommandSpec(_TRANSACTION, _optional_number(List)),
    "UIDL": CommandSpec(_TRANSACTION, _optional_number(Uidl)),
    "RETR": CommandSpec(_TRANSACTION, _one_number(Retr)),
    "TOP": CommandSpec(_TRANSACTION, _top),
    "DELE": CommandSpec(_TRANSACTION, _one_number(Dele)),
    "RSET": CommandSpec(_TRANSACTION, _no_arguments(Rset())),
}


def split_line(line: str) -> tuple[str, str]:
    """``"RETR 1"`` -> ``("RETR", "1")``: the upper-cased keyword and the raw argument text."""
    keyword, _, args = line.partition(" ")
    # ASCII only: str.upper() would turn "\u017ftat" (long s) into "STAT".
    return (keyword.upper() if keyword.isascii() else keyword), args


def parse_command(line: str, state: State) -> Command:
    """One command line (without CRLF) into its command, checked against the session state."""
    keyword, args = split_line(line)
    spec = COMMANDS.get(keyword)
    if spec is None:
        if not keyword:
            raise CommandError("Empty command.")
        raise CommandError(f"Unknown command: {shown(keyword)}")
    if state not in spec.states:
        raise CommandError(f"{keyword} is not valid in the {state.value} state.")
    return spec.parse(args)
