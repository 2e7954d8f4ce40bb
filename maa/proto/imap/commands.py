"""One frozen dataclass per IMAP command, each parsed by its ``parse`` classmethod from a
``Cursor`` placed after the command name (and its space, when it takes arguments)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import ClassVar

from maa.proto.imap.cursor import Cursor, ParseError, UnsupportedCharset
from maa.proto.imap.fetchattrs import FetchItem, parse_fetch_items
from maa.proto.imap.framing import Literal
from maa.proto.imap.listoptions import ListArgs, parse_list, parse_status_items
from maa.proto.imap.modifiers import (
    FetchModifiers,
    SelectParams,
    parse_fetch_modifiers,
    parse_search_return,
    parse_select_params,
    parse_store_modifiers,
)
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
    params: SelectParams = SelectParams()
    readonly: ClassVar[bool] = False

    @classmethod
    def parse(cls, c: Cursor) -> MailboxCommand:
        c.sp()
        mailbox = c.astring()
        params = SelectParams()
        if c.maybe_sp():  # select-params (RFC 4466): CONDSTORE, QRESYNC (RFC 7162)
            params = parse_select_params(c)
        c.end()
        return cls(mailbox, params)


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
    """LIST, with the RFC 5258 options in ``extended`` (None for basic RFC 3501 LIST)."""

    reference: bytes
    pattern: bytes
    extended: ListArgs | None = None
    lsub: ClassVar[bool] = False

    @classmethod
    def parse(cls, c: Cursor) -> List:
        args = parse_list(c)
        return cls(args.reference, args.patterns[0], args if args.extended else None)


@dataclass(frozen=True)
class Lsub(List):
    lsub: ClassVar[bool] = True

    @classmethod
    def parse(cls, c: Cursor) -> List:
        c.sp()
        reference = c.astring()
        c.sp()
        pattern = c.list_mailbox()
        c.end()
        return cls(reference, pattern)


@dataclass(frozen=True)
class Status:
    mailbox: bytes
    items: tuple[str, ...]

    @classmethod
    def parse(cls, c: Cursor) -> Status:
        c.sp()
        mailbox = c.astring()
        c.sp()
        items = parse_status_items(c)
        c.end()
        return cls(mailbox, items)


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
        if c.peek() in (ord("U"), ord("u")):
            # RFC 6855 4: "UTF8 (~{n}...)", a message with UTF-8 headers
            if c.atom().upper() != "UTF8":
                raise ParseError("Expected UTF8 or a literal")
            c.sp()
            c.expect(b"(")
            message = c.literal()
            c.expect(b")")
        else:
            message = c.literal()
        c.end()
        return cls(mailbox, flags, date, message)


@dataclass(frozen=True)
class Search:
    key: SearchKey
    charset: str = "US-ASCII"
    uid: bool = False
    returns: tuple[str, ...] | None = None  # RFC 4731 RETURN options: answer with ESEARCH

    @classmethod
    def parse_uid(cls, c: Cursor, uid: bool) -> Search:
        c.sp()
        charset = "US-ASCII"
        returns = None
        if c.peek() in (ord("R"), ord("r")):
            # RETURN or RECENT: look at the word without consuming a key
            save = (c._index, c._pos)
            if c.atom().upper() == "RETURN":
                c.sp()
                returns = parse_search_return(c)
                c.sp()
            else:
                c._index, c._pos = save
        if c.peek() in (ord("C"), ord("c")):
            # CHARSET or CC: look at the word without consuming a key
            save = (c._index, c._pos)
            word = c.atom().upper()
            if word == "CHARSET":
                c.sp()
                charset = c.astring().decode("ascii", "replace").upper()
                if charset not in ("US-ASCII", "UTF-8"):
                    raise UnsupportedCharset(f"[BADCHARSET (US-ASCII UTF-8)] Unsupported {charset}")
                c.sp()
            else:
                c._index, c._pos = save
        key = parse_search(c, charset)
        c.end()
        return cls(key, charset, uid, returns)


@dataclass(frozen=True)
class Fetch:
    sequence: SequenceSet
    items: tuple[FetchItem, ...]
    uid: bool = False
    modifiers: FetchModifiers = FetchModifiers()

    @classmethod
    def parse_uid(cls, c: Cursor, uid: bool) -> Fetch:
        c.sp()
        sequence = SequenceSet.parse(c)
        c.sp()
        items = parse_fetch_items(c)
        modifiers = FetchModifiers()
        if c.maybe_sp():
            modifiers = parse_fetch_modifiers(c)
            if modifiers.vanished and not uid:
                raise ParseError("VANISHED is only allowed with UID FETCH")
        c.end()
        if uid and "UID" not in items:
            items = ("UID", *items)
        if modifiers.changed_since is not None and "MODSEQ" not in items:
            items = (*items, "MODSEQ")  # RFC 7162 3.1.4.1: CHANGEDSINCE implies MODSEQ
        return cls(sequence, items, uid, modifiers)


@dataclass(frozen=True)
class Store:
    sequence: SequenceSet
    mode: str  # "set", "add", "remove"
    silent: bool
    flags: tuple[str, ...]
    uid: bool = False
    unchanged_since: int | None = None  # RFC 7162 UNCHANGEDSINCE

    @classmethod
    def parse_uid(cls, c: Cursor, uid: bool) -> Store:
        c.sp()
        sequence = SequenceSet.parse(c)
        c.sp()
        unchanged_since = None
        if c.peek() == ord("("):
            unchanged_since = parse_store_modifiers(c)
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
        return cls(sequence, mode[base], suffix == "SILENT", flags, uid, unchanged_since)


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
class Compress:
    """RFC 4978 ``COMPRESS DEFLATE``."""

    mechanism: str

    @classmethod
    def parse(cls, c: Cursor) -> Compress:
        c.sp()
        mechanism = c.atom().upper()
        c.end()
        return cls(mechanism)


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
    | Move | UidExpunge | Id | Enable | Compress
)  # fmt: skip
