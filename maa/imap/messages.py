"""Commands on the selected folder: SELECT/EXAMINE, CLOSE, UNSELECT, EXPUNGE, CHECK, SEARCH,
FETCH, STORE, COPY and MOVE (with their UID forms), with the CONDSTORE/QRESYNC parameters and
modifiers of RFC 7162 and ESEARCH's RETURN (RFC 4731)."""

from __future__ import annotations

from typing import cast

from maa.imap import condstore
from maa.imap import fetch as fetch_executor
from maa.imap import search as search_executor
from maa.imap import sort as sort_executor
from maa.imap.selected import SelectedView, unknown_system_flag
from maa.imap.session import Reply, Session, bad, no, ok
from maa.proto.imap import commands as c
from maa.proto.imap import esearch
from maa.proto.imap import searchkeys as k
from maa.proto.imap.modifiers import ModSeq
from maa.proto.imap.sequence import SequenceSet, format_uid_set
from maa.proto.imap.sortcommands import Sort, Thread
from maa.proto.imap.state import Transition
from maa.storage.flags import apply_flags, check_flags
from maa.storage.interface import SEEN, FlagMode, FolderNotFound

# RFC 5530: another session expunged some of the messages named; the client may NOOP soon.
EXPUNGE_ISSUED = "[EXPUNGEISSUED] Some messages were already expunged"


def select(session: Session, cmd: c.Select) -> Reply:
    params = cmd.params
    if params.qresync is not None and not session.qresync:
        return bad("QRESYNC must be enabled first")  # RFC 7162 3.2.5
    out = session.out
    if session.view is not None:
        session.unselect()
        out.append(b"* OK [CLOSED] Previous mailbox closed.\r\n")  # RFC 7162 3.2.11
    if params.condstore:
        session.enable_condstore()
    name = session.mailbox(cmd.mailbox)
    try:
        folder = session.need_store().folder(name)
        view = SelectedView(
            folder,
            readonly=cmd.readonly,
            on_change=session.on_change,
            condstore=session.condstore,
            qresync=session.qresync,
        )
    except Exception:
        session.state.apply(Transition.SELECT_FAILED)
        raise
    session.view = view
    session.state.apply(Transition.SELECTED)
    first_unseen = next(
        (seq for seq, uid in enumerate(view.uids, 1) if SEEN not in view.infos[uid].flags), None
    )
    out.extend(view.flags_responses())
    out.append(b"* %d EXISTS\r\n" % view.exists)
    out.append(b"* %d RECENT\r\n" % len(view.recent))
    if first_unseen is not None:
        out.append(b"* OK [UNSEEN %d] First unseen.\r\n" % first_unseen)
    out.append(b"* OK [UIDVALIDITY %d] UIDs valid\r\n" % view.uidvalidity)
    out.append(b"* OK [UIDNEXT %d] Predicted next UID\r\n" % view.uidnext)
    out.append(b"* OK [HIGHESTMODSEQ %d] Highest\r\n" % view.highestmodseq)
    if params.qresync is not None:
        out.extend(condstore.qresync_lines(view, params.qresync))
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
    refusal = _refusal(view, sequence, uid)
    return refusal if refusal is not None else view.resolve(sequence, uid=uid)


def _refusal(view: SelectedView, sequence: SequenceSet, uid: bool) -> Reply | None:
    if sequence.saved:
        return bad("$ is not supported")
    if not uid and not view.valid_sequence(sequence):
        return bad("Invalid message sequence number")
    return None


def fetch(session: Session, cmd: c.Fetch) -> Reply:
    view = session.need_view()
    mods = cmd.modifiers
    if mods.vanished and not session.qresync:
        return bad("VANISHED needs QRESYNC enabled")  # RFC 7162 3.2.6
    if "MODSEQ" in cmd.items:
        session.enable_condstore()
    refusal = _refusal(view, cmd.sequence, cmd.uid)
    if refusal is not None:
        return refusal
    items = cmd.items
    if view.condstore and "FLAGS" in items and "MODSEQ" not in items:
        items = (*items, "MODSEQ")
    if mods.changed_since is None:
        targets = view.resolve(cmd.sequence, uid=cmd.uid)
    else:
        since = mods.changed_since
        if mods.vanished:
            session.out.extend(
                condstore.vanished_earlier(condstore.vanished_in(view, since, cmd.sequence))
            )
        targets = view.changed_since(cmd.sequence, since, uid=cmd.uid)
    lines, missing = fetch_executor.fetch_lines(view, targets, items, by_uid=cmd.uid)
    session.out.extend(lines)
    if missing:
        return ok(EXPUNGE_ISSUED)
    return ok("Fetch completed")


def _search(session: Session, key: k.SearchKey) -> tuple[list[tuple[int, int]], int | None]:
    """(sequence number, UID) of the matches, and their highest MODSEQ when the key used
    MODSEQ (RFC 7162 3.1.5), else None."""
    view = session.need_view()
    uids = search_executor.search(view, key, uid=True)
    found = view.numbered(uids)
    if not _has(key, ModSeq):
        return found, None
    session.enable_condstore()
    return found, max((view.infos[uid].modseq for uid in uids), default=0)


def search(session: Session, cmd: c.Search) -> Reply:
    view = session.need_view()
    if _has(cmd.key, k.Sequence, saved=True):
        return bad("$ is not supported")
    found, modseq = _search(session, cmd.key)
    numbers = [uid if cmd.uid else seq for seq, uid in found]
    if cmd.returns is None:
        session.out.append(esearch.search_line(numbers, modseq))
    else:
        modseqs = None if modseq is None else [view.infos[uid].modseq for _, uid in found]
        session.out.append(
            esearch.esearch_line(
                session.tag, uid=cmd.uid, options=cmd.returns, found=numbers, modseqs=modseqs
            )
        )
    return ok("Search completed")


def _has(key: k.SearchKey, kind: type, *, saved: bool = False) -> bool:
    """Whether the key tree holds a key of ``kind`` (a ``$`` set when ``saved``)."""
    if isinstance(key, k.And):
        return any(_has(sub, kind, saved=saved) for sub in key.keys)
    if isinstance(key, k.Or):
        return _has(key.left, kind, saved=saved) or _has(key.right, kind, saved=saved)
    if isinstance(key, k.Not):
        return _has(key.key, kind, saved=saved)
    if isinstance(key, kind):
        return not saved or (isinstance(key, k.Sequence) and key.set.saved)
    return False


def store(session: Session, cmd: c.Store) -> Reply:
    view = session.need_view()
    if view.readonly:
        return no("[READ-ONLY] Mailbox is read-only")
    flag = unknown_system_flag(cmd.flags)
    if flag is not None:
        return bad(f"Invalid system flag {flag}")
    targets = _targets(session, cmd.sequence, cmd.uid)
    if isinstance(targets, Reply):
        return targets
    if cmd.unchanged_since is not None:
        session.enable_condstore()
    uids = [uid for _, uid in targets if uid not in view.expunged]
    mode = cast(FlagMode, cmd.mode)
    changed, refused = view.folder.store_flags(
        uids, cmd.flags, mode, unchanged_since=cmd.unchanged_since
    )
    view.update(changed)
    session.out.extend(view.new_flags())
    changed_uids = {info.uid for info in changed}
    failed = set(refused)
    asked = check_flags(cmd.flags)
    infos, expunged = view.infos, view.expunged
    out: list[bytes] = []
    for seq, uid in targets:
        info = infos.get(uid)
        if info is None or uid in expunged or uid in failed:
            continue
        flags = info.flags
        if uid not in changed_uids and apply_flags(flags, asked, mode) != flags:
            continue  # storage had it to change but did not: gone meanwhile (EXPUNGE follows)
        if not cmd.silent:
            out.append(view.flags_fetch(seq, uid, with_uid=cmd.uid))
        elif view.condstore and uid in changed_uids:
            # RFC 7162 3.1.3: .SILENT hides FLAGS, but the new MODSEQ is still told.
            out.append(view.flags_fetch(seq, uid, with_uid=cmd.uid, flags=False))
    session.out.extend(out)
    if not cmd.uid and any(uid in view.expunged for _, uid in targets):
        # A UID STORE ignores UIDs that are gone (their EXPUNGE follows); by sequence
        # number the client must hear that some of its messages could not be changed.
        return no("[EXPUNGEISSUED] Some of the requested messages no longer exist")
    if failed:
        numbers = sorted(uid if cmd.uid else view.seq_of(uid) for uid in failed)
        return ok(f"[MODIFIED {esearch.sequence_set(numbers)}] Conditional STORE failed")
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
    if not cmd.uid and any(uid in view.expunged for _, uid in targets):
        # RFC 3501 6.4.7: a failed COPY leaves the destination as it was, so nothing is
        # copied when a message named by number was expunged by another session.
        return no("[EXPUNGEISSUED] Some of the requested messages no longer exist")
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


def sort(session: Session, cmd: Sort) -> Reply:
    view = session.need_view()
    if _has(cmd.key, k.Sequence, saved=True):
        return bad("$ is not supported")
    found, modseq = _search(session, cmd.key)
    ordered = sort_executor.sort(view, found, cmd.criteria, view.sortmemo)
    numbers = [uid if cmd.uid else seq for seq, uid in ordered]
    line = b"* SORT" + b"".join(b" %d" % n for n in numbers)
    if modseq is not None and numbers:
        line += b" (MODSEQ %d)" % modseq
    session.out.append(line + b"\r\n")
    return ok("Sort completed")


def thread(session: Session, cmd: Thread) -> Reply:
    view = session.need_view()
    if _has(cmd.key, k.Sequence, saved=True):
        return bad("$ is not supported")
    found, _ = _search(session, cmd.key)
    data = sort_executor.thread(view, found, cmd.algorithm, uid=cmd.uid, memo=view.sortmemo)
    session.out.append(b"* THREAD " + data + b"\r\n" if data else b"* THREAD\r\n")
    return ok("Thread completed")
