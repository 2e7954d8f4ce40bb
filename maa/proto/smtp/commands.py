"""SMTP/LMTP command lines parsed into one small frozen dataclass per command.

``parse_command(line)`` takes one line without its line end, decoded as UTF-8, and returns
the command or raises ``CommandError`` carrying the reply to send. The table ``VERBS`` maps
each verb to its parser; which verbs a dialect knows and in which states they are legal is
in ``maa.proto.smtp.states``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from maa.proto.smtp.replies import S500_UNKNOWN, Reply

# RFC 5321 4.5.3.1.3: a reverse- or forward-path is at most 256 octets.
MAX_PATH = 256
# ESMTP parameters on one MAIL or RCPT: a handful are defined; more is abuse.
MAX_PARAMS = 16


class CommandError(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.text)
        self.reply = reply


@dataclass(frozen=True, slots=True)
class Hello:
    verb: str  # "EHLO", "HELO" or "LHLO"
    domain: str


@dataclass(frozen=True, slots=True)
class Mail:
    address: str  # "" for the null reverse-path <>
    params: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rcpt:
    address: str
    params: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Data:
    pass


@dataclass(frozen=True, slots=True)
class Bdat:
    size: int
    last: bool


@dataclass(frozen=True, slots=True)
class Rset:
    pass


@dataclass(frozen=True, slots=True)
class Noop:
    pass


@dataclass(frozen=True, slots=True)
class Quit:
    pass


@dataclass(frozen=True, slots=True)
class Vrfy:
    argument: str


@dataclass(frozen=True, slots=True)
class Help:
    argument: str


@dataclass(frozen=True, slots=True)
class StartTls:
    pass


@dataclass(frozen=True, slots=True)
class Auth:
    mechanism: str
    initial_response: str | None  # base64 text, "=" for an empty one, None if absent


Command = Hello | Mail | Rcpt | Data | Bdat | Rset | Noop | Quit | Vrfy | Help | StartTls | Auth


def _syntax(text: str) -> CommandError:
    return CommandError(Reply(501, "5.5.4", text))


def _no_args(cls: Callable[[], Command]) -> Callable[[str], Command]:
    def parse(args: str) -> Command:
        if args.strip():
            raise _syntax("Syntax error: no parameters allowed")
        return cls()

    return parse


# A domain or an address literal; no space, control character, bracket, angle or @ in it.
_DOMAIN = re.compile(r"^(\[[^\[\]\x00-\x20\x7f]+\]|[^\x00-\x20\x7f\[\]<>@]+)$")


def _hello(verb: str) -> Callable[[str], Command]:
    def parse(args: str) -> Command:
        domain = args.strip()
        if not domain or not _DOMAIN.match(domain.split(" ", 1)[0]):
            raise _syntax(f"Syntax: {verb} hostname")
        return Hello(verb, domain.split(" ", 1)[0])

    return parse


_ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-\x80-\U0010ffff]+$")


def _check_mailbox(address: str) -> None:
    """``local@domain``, or a bare local part (``postmaster``, or a bare login for LMTP as
    Dovecot accepts it): the glue decides what a bare one means."""
    local, at, domain = address.rpartition("@")
    if not at:
        local, domain = address, "localhost"
    if not local or not domain:
        raise _syntax("Syntax error in mailbox address")
    if local.startswith('"'):
        if len(local) < 2 or not local.endswith('"'):
            raise _syntax("Syntax error in quoted local part")
        inner = local[1:-1].replace('\\"', "").replace("\\\\", "")
        if '"' in inner or any(ord(c) < 32 or c == "\x7f" for c in inner):
            raise _syntax("Syntax error in quoted local part")
    elif not _ATEXT.match(local) or ".." in local or local[0] == "." or local[-1] == ".":
        raise _syntax("Syntax error in mailbox address")
    if not _DOMAIN.match(domain):
        raise _syntax("Syntax error in domain")


# A path without quoting, space or control character up to its ">", as nearly every path
# is: taken by one match instead of a walk over its characters.
_PLAIN_PATH = re.compile(r'<([^"<> \x00-\x1f\x7f]*)>')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_path(text: str, *, allow_null: bool) -> tuple[str, str]:
    """``<path> rest`` → (address, rest). A source route (``<@a,@b:user@c>``) is dropped, as
    RFC 5321 4.1.2 asks; ``<>`` is the null path when ``allow_null``."""
    text = text.lstrip(" ")
    plain = _PLAIN_PATH.match(text)
    if plain is not None:
        return _checked_path(plain[1], text[plain.end() :], allow_null)
    if not text.startswith("<"):
        raise _syntax("Syntax error: address must be in angle brackets")
    i, quoted = 1, False
    while i < len(text):
        c = text[i]
        if quoted and c == "\\":
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == ">" and not quoted:
            break
        elif c in "< " and not quoted:
            raise _syntax("Syntax error in address")
        i += 1
    else:
        raise _syntax("Syntax error: missing closing angle bracket")
    return _checked_path(text[1:i], text[i + 1 :], allow_null)


def _checked_path(address: str, rest: str, allow_null: bool) -> tuple[str, str]:
    if rest and not rest.startswith(" "):
        raise _syntax("Syntax error after address")
    if len(address) > MAX_PATH:
        raise CommandError(Reply(501, "5.1.3", "Address too long"))
    if address.startswith("@"):
        _route, colon, address = address.partition(":")
        if not colon:
            raise _syntax("Syntax error in source route")
    if not address:
        if not allow_null:
            raise _syntax("Syntax error: empty address")
        return "", rest
    if _CONTROL.search(address):
        raise _syntax("Syntax error: control character in address")
    _check_mailbox(address)
    return address, rest


_PARAM_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


def parse_params(text: str) -> dict[str, str | None]:
    """``KEY=VALUE KEY`` (RFC 5321 4.1.2 esmtp-param) → {KEY: VALUE or None}; keys upper."""
    params: dict[str, str | None] = {}
    for word in text.split():
        key, eq, value = word.partition("=")
        if not _PARAM_KEY.match(key) or (eq and not value):
            raise _syntax(f"Syntax error in parameter {word[:40]!r}")
        if any(ord(c) < 33 or c == "\x7f" for c in value):
            raise _syntax("Syntax error: control character in parameter")
        key = key.upper()
        if key in params:
            raise _syntax(f"Duplicate parameter {key}")
        params[key] = value if eq else None
    if len(params) > MAX_PARAMS:
        raise _syntax("Too many parameters")
    return params


def _prefixed(args: str, keyword: str) -> str:
    head = args[: len(keyword)]
    if head.upper() != keyword:
        raise _syntax(f"Syntax: {keyword}<address>")
    return args[len(keyword) :]


def _mail(args: str) -> Command:
    address, rest = parse_path(_prefixed(args, "FROM:"), allow_null=True)
    return Mail(address, parse_params(rest))


def _rcpt(args: str) -> Command:
    address, rest = parse_path(_prefixed(args, "TO:"), allow_null=False)
    return Rcpt(address, parse_params(rest))


# A BDAT size has at most this many digits: 10^15 octets is past any sane message limit, and
# a bounded length keeps int() cheap.
MAX_BDAT_DIGITS = 15


def _bdat(args: str) -> Command:
    words = args.split()
    if not 1 <= len(words) <= 2 or not words[0].isdigit() or len(words[0]) > MAX_BDAT_DIGITS:
        raise _syntax("Syntax: BDAT size [LAST]")
    if len(words) == 2 and words[1].upper() != "LAST":
        raise _syntax("Syntax: BDAT size [LAST]")
    return Bdat(int(words[0]), len(words) == 2)


def _auth(args: str) -> Command:
    words = args.split()
    if not 1 <= len(words) <= 2:
        raise _syntax("Syntax: AUTH mechanism [initial-response]")
    return Auth(words[0].upper(), words[1] if len(words) == 2 else None)


VERBS: dict[str, Callable[[str], Command]] = {
    "EHLO": _hello("EHLO"),
    "HELO": _hello("HELO"),
    "LHLO": _hello("LHLO"),
    "MAIL": _mail,
    "RCPT": _rcpt,
    "DATA": _no_args(Data),
    "BDAT": _bdat,
    "RSET": _no_args(Rset),
    "NOOP": lambda args: Noop(),  # RFC 5321 4.1.1.9: a NOOP argument is ignored
    "QUIT": _no_args(Quit),
    "VRFY": lambda args: Vrfy(args.strip()),
    "HELP": lambda args: Help(args.strip()),
    "STARTTLS": _no_args(StartTls),
    "AUTH": _auth,
}


def split_verb(line: str) -> tuple[str, str]:
    verb, _, args = line.partition(" ")
    return verb.upper(), args


def parse_command(line: str, known: frozenset[str] | None = None) -> Command:
    """One command line (no CRLF). ``known`` limits the verbs to a dialect's."""
    verb, args = split_verb(line)
    parser = VERBS.get(verb)
    if parser is None or (known is not None and verb not in known):
        raise CommandError(S500_UNKNOWN)
    return parser(args)


__all__ = [
    "Auth",
    "Bdat",
    "Command",
    "CommandError",
    "Data",
    "Hello",
    "Help",
    "Mail",
    "Noop",
    "Quit",
    "Rcpt",
    "Rset",
    "StartTls",
    "Vrfy",
    "parse_command",
    "parse_params",
    "parse_path",
]
