"""FETCH data items (RFC 3501 6.4.5): names, macros and ``BODY[section]<partial>``."""

from __future__ import annotations

from dataclasses import dataclass

from maa.proto.imap.cursor import Cursor, ParseError

SIMPLE_ITEMS = frozenset(
    {
        "ENVELOPE",
        "FLAGS",
        "INTERNALDATE",
        "RFC822",
        "RFC822.HEADER",
        "RFC822.SIZE",
        "RFC822.TEXT",
        "UID",
        "BODYSTRUCTURE",
        "BODY",
        "MODSEQ",  # RFC 7162
    }
)

MACROS: dict[str, tuple[str, ...]] = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}

SECTION_TEXTS = ("HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME")


@dataclass(frozen=True)
class Section:
    """``BODY[1.2.HEADER.FIELDS (From To)]<0.100>``; ``part`` () is the whole message."""

    part: tuple[int, ...] = ()
    text: str | None = None
    fields: tuple[str, ...] = ()
    peek: bool = False
    partial: tuple[int, int] | None = None

    def spec(self) -> str:
        """The section as echoed in the response (``1.2.HEADER.FIELDS (FROM TO)``)."""
        out = ".".join(str(n) for n in self.part)
        if self.text:
            out = f"{out}.{self.text}" if out else self.text
        if self.fields:
            out += " (" + " ".join(self.fields) + ")"
        return out

    def response_name(self) -> str:
        name = f"BODY[{self.spec()}]"
        if self.partial is not None:
            name += f"<{self.partial[0]}>"
        return name

    def request_name(self) -> str:
        name = ("BODY.PEEK[" if self.peek else "BODY[") + self.spec() + "]"
        if self.partial is not None:
            name += f"<{self.partial[0]}.{self.partial[1]}>"
        return name

    @classmethod
    def parse(cls, c: Cursor, peek: bool) -> Section:
        c.expect(b"[")
        part: list[int] = []
        text: str | None = None
        fields: tuple[str, ...] = ()
        if c.peek() != ord("]"):
            while c.peek() is not None and chr(c.peek() or 0).isdigit():
                part.append(c.nz_number())
                if not c.maybe(b"."):
                    break
            if c.peek() != ord("]"):
                word = c.raw_until(b" ]").decode("ascii", "replace").upper()
                if word not in SECTION_TEXTS or (word == "MIME" and not part):
                    raise ParseError(f"Invalid section {word}")
                text = word
                if word.startswith("HEADER.FIELDS"):
                    c.sp()
                    c.expect(b"(")
                    names: list[str] = []
                    while not c.maybe(b")"):
                        if names:
                            c.sp()
                        names.append(c.astring().decode("ascii", "replace").upper())
                    if not names:
                        raise ParseError("Empty header field list")
                    fields = tuple(names)
        c.expect(b"]")
        partial = None
        if c.maybe(b"<"):
            offset = c.number()
            c.expect(b".")
            length = c.nz_number()
            c.expect(b">")
            partial = (offset, length)
        return cls(tuple(part), text, fields, peek, partial)


FetchItem = str | Section


def parse_fetch_items(c: Cursor) -> tuple[FetchItem, ...]:
    """A macro, one item, or a parenthesised list of items."""
    if c.maybe(b"("):
        items: list[FetchItem] = []
        while not c.maybe(b")"):
            if items:
                c.sp()
            items.append(_item(c))
        if not items:
            raise ParseError("Empty FETCH item list")
        return tuple(items)
    name = c.raw_until(b" [(<)").decode("ascii", "replace").upper()
    if name in MACROS:
        return MACROS[name]
    c_item = _named(c, name)
    return (c_item,)


def _item(c: Cursor) -> FetchItem:
    name = c.raw_until(b" [(<)").decode("ascii", "replace").upper()
    if name in MACROS:
        raise ParseError("FETCH macros cannot be in a list")
    return _named(c, name)


def _named(c: Cursor, name: str) -> FetchItem:
    if name in ("BODY", "BODY.PEEK") and c.peek() == ord("["):
        return Section.parse(c, peek=name == "BODY.PEEK")
    if name in SIMPLE_ITEMS:
        return name
    raise ParseError(f"Unknown FETCH item {name or '(empty)'}")
