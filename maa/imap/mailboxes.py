"""Commands on folders: LIST, LSUB, CREATE, DELETE, RENAME, (UN)SUBSCRIBE, STATUS, NAMESPACE."""

from __future__ import annotations

import re

from maa.imap.session import Reply, Session, no, ok
from maa.proto.imap import commands as c
from maa.storage.interface import HIERARCHY_SEPARATOR, INBOX, FolderInfo

SEP = HIERARCHY_SEPARATOR


def _pattern(reference: str, pattern: str) -> re.Pattern[str]:
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
    regex = "".join(out)
    # INBOX is case-insensitive: match it so whatever case the client wrote.
    if full[:5].upper() == "INBOX":
        regex = "(?i:INBOX)" + "".join(out[5:])
    return re.compile(regex + r"\Z", re.DOTALL)


def _list_line(session: Session, kind: str, attributes: list[str], name: str) -> bytes:
    return b'* %s (%s) "%s" %s\r\n' % (
        kind.encode(),
        " ".join(attributes).encode(),
        SEP.encode(),
        session.encode_mailbox(name),
    )


def list_folders(session: Session, cmd: c.List) -> Reply:
    store = session.need_store()
    reference = session.mailbox(cmd.reference) if cmd.reference else ""
    pattern = cmd.pattern.decode("utf-8", "replace") if session.utf8 else None
    if pattern is None:
        pattern = session.mailbox(cmd.pattern) if cmd.pattern else ""
    kind = "LSUB" if cmd.lsub else "LIST"
    if not pattern:
        if not cmd.lsub:
            session.out.append(b'* LIST (\\Noselect) "%s" ""\r\n' % SEP.encode())
        return ok(f"{kind} completed")
    regex = _pattern(reference, pattern)
    folders = store.list_folders()
    names = {f.name for f in folders}
    if cmd.lsub:
        subscribed = store.subscriptions()
        shown: dict[str, list[str]] = {}
        for name in subscribed:
            if regex.match(name):
                shown[name] = [] if name in names else ["\\Noselect"]
            # RFC 3501 6.3.9: "%" matching an unsubscribed parent of a subscribed folder
            # lists the parent, flagged \Noselect.
            parts = name.split(SEP)
            for depth in range(1, len(parts)):
                parent = SEP.join(parts[:depth])
                if parent not in subscribed and parent not in shown and regex.match(parent):
                    shown[parent] = ["\\Noselect"]
        for name in sorted(shown, key=lambda n: (n != INBOX, n)):
            session.out.append(_list_line(session, kind, shown[name], name))
        return ok("LSUB completed")
    for folder in sorted(folders, key=lambda f: (f.name != INBOX, f.name)):
        if regex.match(folder.name):
            session.out.append(_list_line(session, kind, _attributes(folder, names), folder.name))
    return ok("LIST completed")


def _attributes(folder: FolderInfo, names: set[str]) -> list[str]:
    prefix = folder.name + SEP
    has_children = any(n.startswith(prefix) for n in names)
    attrs = ["\\HasChildren" if has_children else "\\HasNoChildren"]
    if not folder.selectable:
        attrs.insert(0, "\\Noselect")
    if folder.special_use:
        attrs.append(folder.special_use)
    return attrs


def create(session: Session, cmd: c.Create) -> Reply:
    name = session.mailbox(cmd.mailbox).rstrip(SEP)
    if name.upper() == INBOX:
        return no("[ALREADYEXISTS] INBOX always exists")
    session.need_store().create_folder(name)
    return ok("Create completed")


def delete(session: Session, cmd: c.Delete) -> Reply:
    name = session.mailbox(cmd.mailbox)
    if name == INBOX:
        return no("[CANNOT] INBOX can't be deleted")
    if session.view is not None and session.view.folder.name == name:
        session.unselect()
    session.need_store().delete_folder(name)
    return ok("Delete completed")


def rename(session: Session, cmd: c.Rename) -> Reply:
    old, new = session.mailbox(cmd.old), session.mailbox(cmd.new)
    if new == INBOX:
        return no("[ALREADYEXISTS] INBOX always exists")
    session.need_store().rename_folder(old, new)
    return ok("Rename completed")


def subscribe(session: Session, cmd: c.Subscribe) -> Reply:
    session.need_store().subscribe(session.mailbox(cmd.mailbox))
    return ok("Subscribe completed")


def unsubscribe(session: Session, cmd: c.Unsubscribe) -> Reply:
    session.need_store().unsubscribe(session.mailbox(cmd.mailbox))
    return ok("Unsubscribe completed")


def status(session: Session, cmd: c.Status) -> Reply:
    name = session.mailbox(cmd.mailbox)
    st = session.need_store().folder(name).status()
    values = {
        "MESSAGES": st.messages,
        "RECENT": st.recent,
        "UIDNEXT": st.uidnext,
        "UIDVALIDITY": st.uidvalidity,
        "UNSEEN": st.unseen,
    }
    items = " ".join(f"{item} {values[item]}" for item in cmd.items)
    session.out.append(b"* STATUS %s (%s)\r\n" % (session.encode_mailbox(name), items.encode()))
    return ok("Status completed")


def namespace(session: Session, cmd: c.Namespace) -> Reply:
    session.out.append(b'* NAMESPACE (("" "%s")) NIL NIL\r\n' % SEP.encode())
    return ok("Namespace completed")
