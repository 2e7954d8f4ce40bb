"""LIST-EXTENDED arguments (RFC 5258 section 6), with RFC 6154 SPECIAL-USE and RFC 5819
LIST-STATUS:

    LIST [(selection-options)] reference (pattern | (pattern *(SP pattern)))
         [RETURN (return-options)]
"""

from __future__ import annotations

from dataclasses import dataclass

from maa.proto.imap.cursor import Cursor, ParseError

SELECTION_OPTIONS = frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"})
RETURN_OPTIONS = frozenset({"SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS"})
# What LIST-STATUS may ask for: STATUS's own items (RFC 3501, RFC 7162).
STATUS_ITEMS = frozenset(
    {"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ"}
)


@dataclass(frozen=True)
class ListArgs:
    reference: bytes
    patterns: tuple[bytes, ...]
    selection: frozenset[str] = frozenset()
    returns: frozenset[str] = frozenset()
    status: tuple[str, ...] = ()  # RETURN (STATUS (...)) items
    extended: bool = False  # any RFC 5258 syntax was used (so the reply may differ)


def parse_status_items(c: Cursor) -> tuple[str, ...]:
    """``(item *(SP item))`` of STATUS and of LIST's ``RETURN (STATUS (...))``."""
    c.expect(b"(")
    items: list[str] = []
    while not c.maybe(b")"):
        if items:
            c.sp()
        item = c.atom().upper()
        if item not in STATUS_ITEMS:
            raise ParseError(f"Unknown STATUS item {item}")
        items.append(item)
    if not items:
        raise ParseError("Empty STATUS item list")
    return tuple(items)


def _options(c: Cursor, allowed: frozenset[str], what: str) -> list[str]:
    c.expect(b"(")
    options: list[str] = []
    while not c.maybe(b")"):
        if options:
            c.sp()
        name = c.atom().upper()
        if name not in allowed:
            raise ParseError(f"Unknown LIST {what} option {name}")
        options.append(name)
    return options


def parse_list(c: Cursor) -> ListArgs:
    """Everything after ``LIST``; basic RFC 3501 LIST is the special case of no options."""
    c.sp()
    extended = False
    selection: frozenset[str] = frozenset()
    if c.peek() == ord("("):
        selection = frozenset(_options(c, SELECTION_OPTIONS, "selection"))
        extended = True
        c.sp()
        # RFC 5258 3.1: RECURSIVEMATCH alone (or with only REMOTE) means nothing: BAD.
        if "RECURSIVEMATCH" in selection and not selection - {"RECURSIVEMATCH", "REMOTE"}:
            raise ParseError("RECURSIVEMATCH needs another selection option")
    reference = c.astring()
    c.sp()
    if c.maybe(b"("):
        patterns = [c.list_mailbox()]
        while not c.maybe(b")"):
            c.sp()
            patterns.append(c.list_mailbox())
        extended = True
    else:
        patterns = [c.list_mailbox()]
    returns: set[str] = set()
    status: tuple[str, ...] = ()
    if c.maybe_sp():
        if c.atom().upper() != "RETURN":
            raise ParseError("Expected RETURN")
        c.sp()
        c.expect(b"(")
        extended = True
        while not c.maybe(b")"):
            if returns:
                c.sp()
            name = c.atom().upper()
            if name not in RETURN_OPTIONS:
                raise ParseError(f"Unknown LIST return option {name}")
            if name == "STATUS":
                c.sp()
                status = parse_status_items(c)
            returns.add(name)
    c.end()
    return ListArgs(reference, tuple(patterns), selection, frozenset(returns), status, extended)
