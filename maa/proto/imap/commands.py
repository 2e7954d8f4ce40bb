"""One frozen dataclass per IMAP command, each parsed by its ``parse`` classmethod from a
``Cursor`` placed after the command name (and its space, when it takes arguments)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import ClassVar

from maa.proto.imap.cursor import Cursor, ParseError
from maa.proto.imap.fetchattrs import FetchItem, parse_fetch_items
from maa.proto.imap.framing import Literal
from maa.proto.imap.searchkeys import SearchKey, parse_search
from maa.proto.imap.sequence import SequenceSet

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class NoArgs:
    """Base of the commands that take nothing after their name."""

    @classmethod
    def parse(cls, c: Cursor) -> NoArgs:
        c.end()
        return cls()


@dataclass(frozen=True)
class Capability(NoArgs):
    pass


@dataclass(frozen=True)
class Noop(NoArgs):
    pass


@dataclass(frozen=True)
class Logout(NoArgs):
    pass


@dataclass(frozen=True)
class StartTLS(NoArgs):
    pass


@dataclass(frozen=True)
class Check(NoArgs):
    pass


@dataclass(frozen=True)
class Close(NoArgs):
    pass


@dataclass(frozen=True)
class Expunge(NoArgs):
    pass


@dataclass(frozen=True)
class Unselect(NoArgs):
    pass


@dataclass(frozen=True)
class Idle(NoArgs):
    pass


@dataclass(frozen=True)
class Namespace(NoArgs):
    pass


@dataclass(frozen=True)
class Authenticate:
    mechanism: str
    initial_response: str | None = None

    @classmethod
    def parse(cls, c: Cursor) -> Authenticate:
        c.sp()
        mechanism = c.atom().upper()
        initial = None
        if c.maybe_sp():
            initial = c.raw_until(b" ").decode("ascii", "replace")
            if not initial:
                raise ParseError("Empty initial response")
        c.end()
        return cls(mechanism, initial)


@dataclass(frozen=True)
class Login:
    user: bytes
    password: bytes

    def __repr__(self) -> str:  # never log a password
        return f"Login(user={self.user!r})"

    @classmethod
    def parse(cls, c: Cursor) -> Login:
        c.sp()
        user = c.astring()
        c.sp()
        password = c.astring()
        c.end()
        return cls(user, password)


@dataclass(frozen=True)
class MailboxCommand:
    """Base of commands whose only argument is a mailbox name."""

    mailbox: bytes

    @classmethod
    def parse(cls, c: Cursor) -> MailboxCommand:
        c.sp()
        mailbox = c.astring()
        c.end()
        return cls(mailbox)


@dataclass(frozen=True)
class Select(MailboxCommand):
    readonly: ClassVar[bool] = False

    @classmethod
    def parse(cls, c: Cursor) -> MailboxCommand:
        c.sp()
        mailbox = c.astring()
        if c.maybe_sp():  # select-params (RFC 4466): refused until CONDSTORE/QRESYNC exist
            raise ParseError("SELECT parameters are not supported")
        c.end()
        return cls(mailbox)


@dataclass(frozen=True)
class Examine(Select):
    readonly: ClassVar[bool] = True


@dataclass(frozen=True)
class Create(MailboxCommand):
    pass


@dataclass(frozen=True)
class Delete(MailboxCommand):
    pass


@dataclass(frozen=True)
class Subscribe(MailboxCommand):
    pass


@dataclass(frozen=True)
class Unsubscribe(MailboxCommand):
    pass


@dataclass(frozen=True)
class Rename:
    old: bytes
    new: bytes

    @classmethod
    def parse(cls, c: Cursor) -> Rename:
        c.sp()
        old = c.astring()
        c.sp()
        new = c.astring()
        c.end()
        return cls(old, new)


@dataclass(frozen=True)
class List:
    reference: bytes
    pattern: bytes
    lsub: ClassVar[bool] = False

    @classmethod
    def parse(cls, c: Cursor) -> List:
        c.sp()
        reference = c.astring()
        c.sp()
        pattern = c.list_mailbox()
        c.end()
        return cls(reference, pattern)


@dataclass(frozen=True)
class Lsub(List):
    lsub: ClassVar[bool] = True


STATUS_ITEMS = frozenset({"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN"})


@dataclass(frozen=True)
class Status:
    mailbox: bytes
    items: tuple[str, ...]

    @classmethod
    def parse(cls, c: Cursor) -> Status:
        c.sp()
        mailbox = c.astring()
        c.sp()
        c.expect(b"(")
        items: list[str] = []
        while not c.maybe(b")"):
            if items:
                c.sp()
            item = c.atom().upper()
            if item not in STATUS_ITEMS:
                raise ParseError(f"Unknown STATUS item {item}")
            items.append(item)
        c.end()
        if not items:
            raise ParseError("Empty STATUS item list")
        return cls(mailbox, tuple(items))


def parse_date_time(text: str) -> datetime.datetime:
    """RFC 3501 ``date-time``: ``17-Jul-1996 02:44:25 -0700`` (day may be space-padded)."""
    try:
        date, time, zone = text.strip().split()
        day, month, year = date.split("-")
        hour, minute, second = (int(x) for x in time.split(":"))
        sign = -1 if zone[0] == "-" else 1
        if zone[0] not in "+-" or len(zone) != 5:
            raise ValueError(zone)
        offset = sign * datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
        month_index = [m.upper() for m in _MONTHS].index(month.upper()) + 1
        return datetime.datetime(
            int(year),
            month_index,
            int(day),
            hour,
            minute,
            second,
            tzinfo=datetime.timezone(offset),
        )
    except (ValueError, IndexError) as e:
        raise ParseError(f"Invalid date-time {text!r}") from e


def format_date_time(when: float) -> str:
    """An INTERNALDATE in UTC: ``17-Jul-1996 09:44:25 +0000``."""
    t = datetime.datetime.fromtimestamp(when, datetime.UTC)
    return f"{t.day:02d}-{_MONTHS[t.month - 1]}-{t.year:04d} {t:%H:%M:%S} +0000"


@dataclass(frozen=True)
class Append:
    mailbox: bytes
    flags: tuple[str, ...]
    date: datetime.datetime | None
    message: Literal

    @classmethod
    def parse(cls, c: Cursor) -> Append:
        c.sp()
        mailbox = c.astring()
        c.sp()
        flags: tuple[str, ...] = ()
        date = None
        if c.peek() == ord("("):
            flags = c.flag_list()
            c.sp()
        if c.peek() == ord('"'):
            date = parse_date_time(c.quoted().decode("ascii", "replace"))
            c.sp()
        message = c.literal()
        c.end()
        return cls(mailbox, flags, date, message)


@dataclass(frozen=True)
class Search:
    key: SearchKey
    charset: str = "US-ASCII"
    uid: bool = False

    @classmethod
    def parse_uid(cls, c: Cursor, uid: bool) -> Search:
        c.sp()
        charset = "US-ASCII"
        if c.peek() in (ord("C"), ord("c")):
            # CHARSET or CC: look at the word without consuming a key
            save = (c._index, c._pos)
            word = c.atom().upper()
            if word == "CHARSET":
                c.sp()
                charset = c.astring().decode("ascii", "replace").upper()
                if charset not in ("US-ASCII", "UTF-8"):
                    raise ParseError(f"[BADCHARSET (US-ASCII UTF-8)] Unsupported {charset}")
                c.sp()
            else:
                c._index, c._pos = save
        key = parse_search(c, charset)
        c.end()
        return cls(key, charset, uid)


@dataclass(frozen=True)
class Fetch:
    sequence: SequenceSet
    items: tuple[FetchItem, ...]
    uid: bool = False

    @classmethod
    def parse_uid(cls, c: Cursor, uid: bool) -> Fetch:
        c.sp()
        sequence = SequenceSet.parse(c)
        c.sp()
        items = parse_fetch_items(c)
        c.end()
        if uid and "UID" not in items:
            items = ("UID", *items)
        return cls(sequence, items, uid)


@dataclass(frozen=True)
class Store:
    sequence: SequenceSet
    mode: str  # "set", "add", "remove"
    silent: bool
    flags: tuple[str, ...]
    uid: bool = False

    @classmethod
    def parse_uid(cls, c: Cursor, uid: bool) -> Store:
        c.sp()
        sequence = SequenceSet.parse(c)
        c.sp()
        name = c.atom().upper()
        mode = {"FLAGS": "set", "+FLAGS": "add", "-FLAGS": "remove"}
        base, _, suffix = name.partition(".")
        if base not in mode or suffix not in ("", "SILENT"):
            raise ParseError(f"Invalid STORE item {name}")
        c.sp()
        if c.peek() == ord("("):
            flags = c.flag_list()
        else:
            names = [c.flag()]
            while c.maybe_sp():
                names.append(c.flag())
            flags = tuple(names)
        c.end()
        if "\\*" in flags or "\\Recent" in flags:
            raise ParseError("Cannot store \\* or \\Recent")
        return cls(sequence, mode[base], suffix == "SILENT", flags, uid)


@dataclass(frozen=True)
class Copy:
    sequence: SequenceSet
    mailbox: bytes
    uid: bool = False
    move: ClassVar[bool] = False

    @classmethod
    def parse_uid(cls, c: Cursor, uid: bool) -> Copy:
        c.sp()
        sequence = SequenceSet.parse(c)
        c.sp()
        mailbox = c.astring()
        c.end()
        return cls(sequence, mailbox, uid)


@dataclass(frozen=True)
class Move(Copy):
    move: ClassVar[bool] = True


@dataclass(frozen=True)
class UidExpunge:
    sequence: SequenceSet

    @classmethod
    def parse(cls, c: Cursor) -> UidExpunge:
        c.sp()
        sequence = SequenceSet.parse(c)
        c.end()
        return cls(sequence)


@dataclass(frozen=True)
class Id:
    """RFC 2971; ``params`` is None for ``ID NIL``."""

    params: tuple[tuple[str, str | None], ...] | None

    @classmethod
    def parse(cls, c: Cursor) -> Id:
        c.sp()
        if not c.maybe(b"("):
            if c.atom().upper() != "NIL":
                raise ParseError("ID wants a list or NIL")
            c.end()
            return cls(None)
        params: list[tuple[str, str | None]] = []
        while not c.maybe(b")"):
            if params:
                c.sp()
            key = c.string().decode("utf-8", "replace")
            c.sp()
            value = c.nstring()
            params.append((key, None if value is None else value.decode("utf-8", "replace")))
            if len(params) > 30:  # RFC 2971 3.3: at most 30 pairs
                raise ParseError("Too many ID parameters")
        c.end()
        return cls(tuple(params))


@dataclass(frozen=True)
class Enable:
    capabilities: tuple[str, ...]

    @classmethod
    def parse(cls, c: Cursor) -> Enable:
        caps: list[str] = []
        while c.maybe_sp():
            caps.append(c.atom().upper())
        c.end()
        if not caps:
            raise ParseError("ENABLE wants at least one capability")
        return cls(tuple(caps))


Command = (
    Capability | Noop | Logout | StartTLS | Check | Close | Expunge | Unselect | Idle
    | Namespace | Authenticate | Login | Select | Examine | Create | Delete | Subscribe
    | Unsubscribe | Rename | List | Lsub | Status | Append | Search | Fetch | Store | Copy
    | Move | UidExpunge | Id | Enable
)  # fmt: skip
