"""Commands on the selected folder: SELECT/EXAMINE, CLOSE, UNSELECT, EXPUNGE, CHECK, SEARCH,
FETCH, STORE, COPY and MOVE (with their UID forms)."""

from __future__ import annotations

from maa.imap import fetch as fetch_executor
from maa.imap import search as search_executor
from maa.imap.selected import SelectedView
from maa.imap.session import Reply, Session, bad, no, ok
from maa.proto.imap import commands as c
from maa.proto.imap import response
from maa.proto.imap.sequence import SequenceSet, format_uid_set
from maa.proto.imap.state import Transition
from maa.storage.interface import SEEN, SYSTEM_FLAGS, FolderNotFound


def select(session: Session, cmd: c.Select) -> Reply:
    session.unselect()
    name = session.mailbox(cmd.mailbox)
    try:
        folder = session.need_store().folder(name)
        view = SelectedView(folder, readonly=cmd.readonly, on_change=session.on_change)
    except Exception:
        session.state.apply(Transition.SELECT_FAILED)
        raise
    session.view = view
    session.state.apply(Transition.SELECTED)
    first_unseen = next(
        (seq for seq, uid in enumerate(view.uids, 1) if SEEN not in view.infos[uid].flags), None
    )
    out = session.out
    out.append(b"* FLAGS " + view.flags_line() + b"\r\n")
    permanent = b"()" if view.readonly else view.flags_line()[:-1] + b" \\*)"
    out.append(b"* OK [PERMANENTFLAGS " + permanent + b"] Limited\r\n")
    out.append(b"* %d EXISTS\r\n" % view.exists)
    out.append(b"* %d RECENT\r\n" % len(view.recent))
    if first_unseen is not None:
        out.append(b"* OK [UNSEEN %d] First unseen.\r\n" % first_unseen)
    out.append(b"* OK [UIDVALIDITY %d] UIDs valid\r\n" % view.uidvalidity)
    out.append(b"* OK [UIDNEXT %d] Predicted next UID\r\n" % view.uidnext)
    mode = "READ-ONLY" if view.readonly else "READ-WRITE"
    return ok(f"[{mode}] {'Examine' if view.readonly else 'Select'} completed")


def close(session: Session, cmd: c.Close) -> Reply:
    view = session.need_view()
    if not view.readonly:
        view.folder.expunge()  # silently: CLOSE sends no EXPUNGE responses (RFC 3501 6.4.2)
    session.unselect()
    session.state.apply(Transition.CLOSED)
    return ok("Close completed")


def unselect(session: Session, cmd: c.Unselect) -> Reply:
    session.unselect()
    session.state.apply(Transition.CLOSED)
    return ok("Unselect completed")


def check(session: Session, cmd: c.Check) -> Reply:
    return ok("Check completed")


def expunge(session: Session, cmd: c.Expunge | c.UidExpunge) -> Reply:
    view = session.need_view()
    if view.readonly:
        return no("[READ-ONLY] Mailbox is read-only")
    uids = None
    if isinstance(cmd, c.UidExpunge):
        if cmd.sequence.saved:
            return bad("$ is not supported")
        uids = [uid for _, uid in view.resolve(cmd.sequence, uid=True)]
    removed = view.folder.expunge(uids)
    session.out.extend(view.remove(removed))
    return ok("Expunge completed")


def _targets(session: Session, sequence: SequenceSet, uid: bool) -> list[tuple[int, int]] | Reply:
    view = session.need_view()
    if sequence.saved:
        return bad("$ is not supported")
    if not uid and not view.valid_sequence(sequence):
        return bad("Invalid message sequence number")
    return view.resolve(sequence, uid=uid)


def fetch(session: Session, cmd: c.Fetch) -> Reply:
    targets = _targets(session, cmd.sequence, cmd.uid)
    if isinstance(targets, Reply):
        return targets
    lines, missing = fetch_executor.fetch_lines(session.need_view(), targets, cmd.items)
    session.out.extend(lines)
    if missing:
        return no("[EXPUNGEISSUED] Some of the requested messages no longer exist")
    return ok("Fetch completed")


def search(session: Session, cmd: c.Search) -> Reply:
    view = session.need_view()
    if _uses_saved(cmd.key):
        return bad("$ is not supported")
    found = search_executor.search(view, cmd.key, uid=cmd.uid)
    session.out.append(b"* SEARCH" + b"".join(b" %d" % n for n in found) + b"\r\n")
    return ok("Search completed")


def _uses_saved(key: object) -> bool:
    from maa.proto.imap import searchkeys as k

    if isinstance(key, k.Sequence):
        return key.set.saved
    if isinstance(key, k.And):
        return any(_uses_saved(sub) for sub in key.keys)
    if isinstance(key, k.Or):
        return _uses_saved(key.left) or _uses_saved(key.right)
    if isinstance(key, k.Not):
        return _uses_saved(key.key)
    return False


def store(session: Session, cmd: c.Store) -> Reply:
    view = session.need_view()
    if view.readonly:
        return no("[READ-ONLY] Mailbox is read-only")
    for flag in cmd.flags:
        if flag.startswith("\\") and flag not in SYSTEM_FLAGS:
            return bad(f"Invalid system flag {flag}")
    targets = _targets(session, cmd.sequence, cmd.uid)
    if isinstance(targets, Reply):
        return targets
    uids = [uid for _, uid in targets if uid not in view.expunged]
    changed, _ = view.folder.store_flags(uids, cmd.flags, cmd.mode)  # type: ignore[arg-type]
    view.update(changed)
    if not cmd.silent:
        for seq, uid in targets:
            if uid not in view.infos or uid in view.expunged:
                continue
            uid_part = b"UID %d " % uid if cmd.uid else b""
            flags = response.flag_list(view.flags_of(uid))
            session.out.append(b"* %d FETCH (%sFLAGS %s)\r\n" % (seq, uid_part, flags))
    if any(uid in view.expunged for _, uid in targets):
        return no("[EXPUNGEISSUED] Some of the requested messages no longer exist")
    return ok("Store completed")


def copy(session: Session, cmd: c.Copy) -> Reply:
    view = session.need_view()
    targets = _targets(session, cmd.sequence, cmd.uid)
    if isinstance(targets, Reply):
        return targets
    if cmd.move and view.readonly:
        return no("[READ-ONLY] Mailbox is read-only")
    name = session.mailbox(cmd.mailbox)
    try:
        dest = session.need_store().folder(name)
    except FolderNotFound:
        return no("[TRYCREATE] Mailbox doesn't exist")
    uids = [uid for _, uid in targets if uid not in view.expunged]
    verb = "Move" if cmd.move else "Copy"
    if not uids:
        return ok(f"{verb} completed")
    pairs = view.folder.move(uids, dest) if cmd.move else view.folder.copy(uids, dest)
    code = ""
    if pairs:
        validity = dest.status().uidvalidity
        src = format_uid_set([s for s, _ in pairs])
        dests = [d for _, d in pairs]
        dst = format_uid_set(dests) if dests == sorted(dests) else ",".join(map(str, dests))
        code = f"[COPYUID {validity} {src} {dst}] "
    if cmd.move:
        if code:
            session.out.append(f"* OK {code}Moved\r\n".encode())
        session.out.extend(view.remove([s for s, _ in pairs]))
        return ok(f"{verb} completed")
    return ok(f"{code}{verb} completed")
