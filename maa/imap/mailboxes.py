"""Commands on folders: LIST, LSUB, CREATE, DELETE, RENAME, (UN)SUBSCRIBE, STATUS, NAMESPACE."""

from __future__ import annotations

from maa.imap import listext
from maa.imap.session import Reply, Session, no, ok
from maa.proto.imap import commands as c
from maa.proto.imap.listoptions import ListArgs
from maa.proto.imap.state import Transition
from maa.storage.interface import HIERARCHY_SEPARATOR, INBOX, StorageError

SEP = HIERARCHY_SEPARATOR


def _list_line(session: Session, kind: str, attributes: list[str], name: str) -> bytes:
    return b'* %s (%s) "%s" %s\r\n' % (
        kind.encode(),
        " ".join(attributes).encode(),
        SEP.encode(),
        session.encode_mailbox(name),
    )


def _pattern_text(session: Session, raw: bytes) -> str:
    if session.utf8:
        return raw.decode("utf-8", "replace")
    return session.mailbox(raw) if raw else ""


def list_folders(session: Session, cmd: c.List) -> Reply:
    store = session.need_store()
    reference = session.mailbox(cmd.reference) if cmd.reference else ""
    args = cmd.extended or ListArgs(cmd.reference, (cmd.pattern,))
    patterns = [_pattern_text(session, p) for p in args.patterns]
    kind = "LSUB" if cmd.lsub else "LIST"
    if patterns == [""]:
        if not cmd.lsub:
            session.out.append(b'* LIST (\\Noselect) "%s" ""\r\n' % SEP.encode())
        return ok(f"{kind} completed")
    if cmd.lsub:
        regex = listext.pattern_regex(reference, patterns[0])
        names = {f.name for f in store.list_folders()}
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
    entries = listext.list_entries(
        args, reference, patterns, store.list_folders(), store.subscriptions()
    )
    for entry in entries:
        encoded = session.encode_mailbox(entry.name)
        session.out.append(listext.list_line(entry, encoded))
        if "STATUS" in args.returns and entry.selectable:
            # RFC 5819: the STATUS of each selectable folder right after its LIST line
            try:
                st = store.folder(entry.name).status()
            except StorageError:
                continue  # gone meanwhile: RFC 5819 says to leave its STATUS out
            text = listext.status_text(st, args.status)
            session.out.append(b"* STATUS %s (%s)\r\n" % (encoded, text))
    return ok("LIST completed")


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
    store = session.need_store()
    view = session.view
    inbox = old.upper() == INBOX
    selected = view is not None and (
        view.folder.name.upper() == INBOX if inbox else view.folder.name == old
    )
    store.rename_folder(old, new)
    # The selected folder goes on under its new name; a selected INBOX stays INBOX, now
    # empty, and the sync after this command tells its messages expunged. The driver's
    # folder object for the old name may be gone with the name. If the driver gave the
    # folder other UIDs, this session's numbering cannot go on (its client would take new
    # UIDs for old ones): Dovecot's answer to a UIDVALIDITY change under a session.
    if view is not None and selected and not view.reopen(store.folder(INBOX if inbox else new)):
        session.out.append(b"* BYE IMAP session state is inconsistent, please relogin.\r\n")
        session.unselect()
        session.state.apply(Transition.LOGGED_OUT)
    return ok("Rename completed")


def subscribe(session: Session, cmd: c.Subscribe) -> Reply:
    session.need_store().subscribe(session.mailbox(cmd.mailbox))
    return ok("Subscribe completed")


def unsubscribe(session: Session, cmd: c.Unsubscribe) -> Reply:
    session.need_store().unsubscribe(session.mailbox(cmd.mailbox))
    return ok("Unsubscribe completed")


def status(session: Session, cmd: c.Status) -> Reply:
    name = session.mailbox(cmd.mailbox)
    if "HIGHESTMODSEQ" in cmd.items:
        session.enable_condstore()  # RFC 7162 3.1: a CONDSTORE-enabling command
    st = session.need_store().folder(name).status()
    items = listext.status_text(st, cmd.items)
    session.out.append(b"* STATUS %s (%s)\r\n" % (session.encode_mailbox(name), items))
    return ok("Status completed")


def namespace(session: Session, cmd: c.Namespace) -> Reply:
    session.out.append(b'* NAMESPACE (("" "%s")) NIL NIL\r\n' % SEP.encode())
    return ok("Namespace completed")
