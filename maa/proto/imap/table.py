"""Command metadata in one table (as Dovecot's imap-commands.h) and ``parse_command``.

Each entry says which dataclass parses the command, in which states it is allowed, whether it
addresses messages by sequence number (so pending EXPUNGEs may not be sent while it runs,
RFC 3501 7.4.1), and whether it may itself expunge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from maa.proto.imap import commands as c
from maa.proto.imap.cursor import Cursor, ParseError, UnsupportedCharset
from maa.proto.imap.framing import RawCommand
from maa.proto.imap.sortcommands import Sort, Thread
from maa.proto.imap.state import State

ANY = frozenset(State) - {State.LOGOUT}
NOT_AUTH = frozenset({State.NOT_AUTHENTICATED})
AUTHED = frozenset({State.AUTHENTICATED, State.SELECTED})
SELECTED = frozenset({State.SELECTED})


@dataclass(frozen=True)
class CommandSpec:
    parse: Callable[[Cursor], Any]
    states: frozenset[State]
    uses_sequence_numbers: bool = False  # pending EXPUNGE must wait (RFC 3501 7.4.1)
    may_expunge: bool = False
    # Answers from per-message state (flags, the set of messages): the session syncs with
    # storage before running it, so what it says is current, not one command old.
    reads_messages: bool = False


def _uid(cls: Any, uid: bool) -> Callable[[Cursor], Any]:
    return lambda cursor: cls.parse_uid(cursor, uid)


COMMANDS: dict[str, CommandSpec] = {
    "CAPABILITY": CommandSpec(c.Capability.parse, ANY),
    "NOOP": CommandSpec(c.Noop.parse, ANY),
    "LOGOUT": CommandSpec(c.Logout.parse, ANY),
    "ID": CommandSpec(c.Id.parse, ANY),
    "STARTTLS": CommandSpec(c.StartTLS.parse, NOT_AUTH),
    "AUTHENTICATE": CommandSpec(c.Authenticate.parse, NOT_AUTH),
    "LOGIN": CommandSpec(c.Login.parse, NOT_AUTH),
    "ENABLE": CommandSpec(c.Enable.parse, AUTHED),
    "COMPRESS": CommandSpec(c.Compress.parse, AUTHED),
    "NAMESPACE": CommandSpec(c.Namespace.parse, AUTHED),
    "SELECT": CommandSpec(c.Select.parse, AUTHED),
    "EXAMINE": CommandSpec(c.Examine.parse, AUTHED),
    "CREATE": CommandSpec(c.Create.parse, AUTHED),
    "DELETE": CommandSpec(c.Delete.parse, AUTHED),
    "RENAME": CommandSpec(c.Rename.parse, AUTHED),
    "SUBSCRIBE": CommandSpec(c.Subscribe.parse, AUTHED),
    "UNSUBSCRIBE": CommandSpec(c.Unsubscribe.parse, AUTHED),
    "LIST": CommandSpec(c.List.parse, AUTHED),
    "LSUB": CommandSpec(c.Lsub.parse, AUTHED),
    "STATUS": CommandSpec(c.Status.parse, AUTHED),
    "APPEND": CommandSpec(c.Append.parse, AUTHED),
    "IDLE": CommandSpec(c.Idle.parse, AUTHED),
    "CHECK": CommandSpec(c.Check.parse, SELECTED),
    "CLOSE": CommandSpec(c.Close.parse, SELECTED, may_expunge=True),
    "UNSELECT": CommandSpec(c.Unselect.parse, SELECTED),
    "EXPUNGE": CommandSpec(c.Expunge.parse, SELECTED, may_expunge=True),
    "SEARCH": CommandSpec(
        _uid(c.Search, False), SELECTED, uses_sequence_numbers=True, reads_messages=True
    ),
    "FETCH": CommandSpec(
        _uid(c.Fetch, False), SELECTED, uses_sequence_numbers=True, reads_messages=True
    ),
    "STORE": CommandSpec(
        _uid(c.Store, False), SELECTED, uses_sequence_numbers=True, reads_messages=True
    ),
    "COPY": CommandSpec(
        _uid(c.Copy, False), SELECTED, uses_sequence_numbers=True, reads_messages=True
    ),
    "MOVE": CommandSpec(
        _uid(c.Move, False),
        SELECTED,
        uses_sequence_numbers=True,
        may_expunge=True,
        reads_messages=True,
    ),
    "SORT": CommandSpec(
        _uid(Sort, False), SELECTED, uses_sequence_numbers=True, reads_messages=True
    ),
    "THREAD": CommandSpec(
        _uid(Thread, False), SELECTED, uses_sequence_numbers=True, reads_messages=True
    ),
    "UID SEARCH": CommandSpec(_uid(c.Search, True), SELECTED, reads_messages=True),
    "UID SORT": CommandSpec(_uid(Sort, True), SELECTED, reads_messages=True),
    "UID THREAD": CommandSpec(_uid(Thread, True), SELECTED, reads_messages=True),
    "UID FETCH": CommandSpec(_uid(c.Fetch, True), SELECTED, reads_messages=True),
    "UID STORE": CommandSpec(_uid(c.Store, True), SELECTED, reads_messages=True),
    "UID COPY": CommandSpec(_uid(c.Copy, True), SELECTED, reads_messages=True),
    "UID MOVE": CommandSpec(_uid(c.Move, True), SELECTED, may_expunge=True, reads_messages=True),
    "UID EXPUNGE": CommandSpec(c.UidExpunge.parse, SELECTED, may_expunge=True),
}


@dataclass(frozen=True)
class ParsedCommand:
    tag: str
    name: str
    spec: CommandSpec
    command: Any


class CommandError(Exception):
    """A command that cannot be parsed: reply ``tag BAD text`` (``tag NO text`` when
    ``refused``: well-formed, but asking for what maa does not do, like an unknown charset)."""

    def __init__(self, tag: str, text: str, *, refused: bool = False) -> None:
        super().__init__(text)
        self.tag = tag
        self.text = text
        self.refused = refused


def parse_command(raw: RawCommand) -> ParsedCommand:
    cursor = Cursor(raw.segments)
    try:
        tag = cursor.tag()
    except ParseError as e:
        raise CommandError("*", str(e)) from e
    try:
        cursor.sp()
        name = cursor.atom().upper()
        if name == "UID":
            cursor.sp()
            name = "UID " + cursor.atom().upper()
        spec = COMMANDS.get(name)
        if spec is None:
            raise ParseError(f"Unknown command {name}")
        return ParsedCommand(tag, name, spec, spec.parse(cursor))
    except UnsupportedCharset as e:
        raise CommandError(tag, str(e), refused=True) from e
    except ParseError as e:
        raise CommandError(tag, str(e)) from e
