"""LIST with RFC 5258 LIST-EXTENDED, RFC 6154 SPECIAL-USE and RFC 5819 LIST-STATUS.

Which names are listed depends on the selection options (all folders, or the subscribed
names, or the special-use folders; RECURSIVEMATCH adds parents of matching names with
CHILDINFO); which attributes they carry on the return options. Basic RFC 3501 LIST is the
case of no options, and answers as it always did (children and special-use included, as
RFC 5258 and RFC 6154 allow; \\Noselect where the extended forms say \\NonExistent).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from maa.proto.imap.listoptions import ListArgs
from maa.storage.interface import HIERARCHY_SEPARATOR, INBOX, FolderInfo, FolderStatus

SEP = HIERARCHY_SEPARATOR


def pattern_regex(reference: str, pattern: str) -> re.Pattern[str]:
    """RFC 3501 6.3.8: "*" matches anything, "%" anything but the separator."""
    full = reference + pattern
    out = []
    for ch in full:
        if ch == "*":
            out.append(".*")
        elif ch == "%":
            out.append(f"[^{re.escape(SEP)}]*")
        else:
            out.append(re.escape(ch))
    # INBOX is case-insensitive: match it so whatever case the client wrote.
    if full[:5].upper() == INBOX:
        return re.compile("(?i:INBOX)" + "".join(out[5:]) + r"\Z", re.DOTALL)
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def status_values(st: FolderStatus) -> dict[str, int]:
    return {
        "MESSAGES": st.messages,
        "RECENT": st.recent,
        "UIDNEXT": st.uidnext,
        "UIDVALIDITY": st.uidvalidity,
        "UNSEEN": st.unseen,
        "HIGHESTMODSEQ": st.highestmodseq,
    }


def status_text(st: FolderStatus, items: Iterable[str]) -> bytes:
    """``MESSAGES 3 UIDNEXT 9`` for the items asked, in the order asked."""
    values = status_values(st)
    return " ".join(f"{item} {values[item]}" for item in items).encode()


@dataclass
class Entry:
    """One ``* LIST`` response: the name, its attributes and any CHILDINFO."""

    name: str
    attributes: list[str] = field(default_factory=list)
    childinfo: bool = False
    selectable: bool = False  # exists and can be selected: LIST-STATUS applies


def _ancestors(name: str) -> list[str]:
    levels = name.split(SEP)
    return [SEP.join(levels[:i]) for i in range(1, len(levels))]


def _order(name: str) -> tuple[bool, str]:
    return (name != INBOX, name)


def list_entries(
    args: ListArgs,
    reference: str,
    patterns: list[str],
    folders: list[FolderInfo],
    subscriptions: list[str],
) -> list[Entry]:
    """The LIST responses, in order, for decoded ``reference`` and ``patterns``."""
    regexes = [pattern_regex(reference, p) for p in patterns]

    def matches(name: str) -> bool:
        return any(r.match(name) for r in regexes)

    by_name = {f.name: f for f in folders}
    existing = {f.name for f in folders if f.exists}
    subscribed = set(subscriptions)
    selection = args.selection
    returns = args.returns
    want_subscribed = "SUBSCRIBED" in selection or "SUBSCRIBED" in returns
    # Basic LIST shows children unasked (RFC 5258 4 allows it; clients of CHILDREN expect
    # it); the extended forms show them when RETURN (CHILDREN) asks, as Dovecot does.
    want_children = "CHILDREN" in returns or not args.extended

    selected = set(subscribed) if "SUBSCRIBED" in selection else set(existing)
    if "SPECIAL-USE" in selection:
        selected = {n for n in selected if n in existing and by_name[n].special_use}

    # RECURSIVEMATCH (only SUBSCRIBED defines CHILDINFO): a listed name with a selected
    # descendant says so; a name outside the selection is listed for it only when that
    # descendant is not listed itself (with "%", not with "*"), as Dovecot answers.
    childinfo: set[str] = set()
    if "RECURSIVEMATCH" in selection and "SUBSCRIBED" in selection:
        for name in selected:
            for parent in _ancestors(name):
                if matches(parent) and (parent in selected or not matches(name)):
                    childinfo.add(parent)

    # A level that exists only in its children's names is no mailbox, so the selection of
    # every mailbox leaves it out; it is listed for a child the patterns do not match (with
    # "%", not with "*"): RFC 3501 6.3.8 "matching levels of hierarchy", and RFC 5258 3.5's
    # \NonExistent \HasChildren pair where no CHILDINFO can say there is a child.
    levels: set[str] = set()
    if not selection & {"SUBSCRIBED", "SPECIAL-USE"}:
        for name in selected:
            if not matches(name):
                levels.update(p for p in _ancestors(name) if p not in existing and matches(p))

    names = {n for n in selected if matches(n)} | childinfo | levels
    parents = {a for n in existing for a in _ancestors(n)}
    entries: list[Entry] = []
    for name in sorted(names, key=_order):
        info = by_name.get(name)
        entry = Entry(name, childinfo=name in childinfo)
        attrs = entry.attributes
        if info is None or not info.exists:
            # RFC 5258 3: subscribed, or a parent, but no mailbox; \NonExistent implies
            # \Noselect, which is what basic LIST says (RFC 3501 has no \NonExistent).
            attrs.append("\\NonExistent" if args.extended else "\\Noselect")
        elif not info.selectable:
            attrs.append("\\Noselect")
        else:
            entry.selectable = True
        if want_subscribed and name in subscribed:
            attrs.append("\\Subscribed")
        if (want_children and info is not None) or name in levels:
            attrs.append("\\HasChildren" if name in parents else "\\HasNoChildren")
        if info is not None and info.exists and info.special_use:
            attrs.append(info.special_use)
        entries.append(entry)
    return entries


def list_line(entry: Entry, encoded_name: bytes) -> bytes:
    line = b'* LIST (%s) "%s" %s' % (
        " ".join(entry.attributes).encode(),
        SEP.encode(),
        encoded_name,
    )
    if entry.childinfo:
        line += b' ("CHILDINFO" ("SUBSCRIBED"))'
    return line + b"\r\n"
