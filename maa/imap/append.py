"""APPEND: the message (spooled by the framer) is stored from a pool thread, because a
durable append waits for fsync."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, threads

from maa.imap.errors import storage_reply
from maa.imap.selected import unknown_system_flag
from maa.imap.session import Reply, Session, bad, no, ok
from maa.proto.imap import commands as c
from maa.storage.interface import FolderNotFound


def append(session: Session, cmd: c.Append) -> Reply | defer.Deferred[Reply]:
    source: Any = cmd.message.data
    refusal = _check(cmd)
    if refusal is not None:
        _close(source)
        return refusal
    try:
        folder = session.need_store().folder(session.mailbox(cmd.mailbox))
    except FolderNotFound as e:
        _close(source)
        return no(storage_reply(e, trycreate=True)[1])
    except BaseException:
        _close(source)
        raise
    when = cmd.date.timestamp() if cmd.date is not None else None
    d: defer.Deferred[Any] = threads.deferToThread(folder.append, source, cmd.flags, when)

    def done(uid: int) -> Reply:
        validity = folder.status().uidvalidity
        return ok(f"[APPENDUID {validity} {uid}] Append completed.")

    def cleanup(result: Any) -> Any:
        _close(source)
        return result

    d.addCallback(done)
    d.addBoth(cleanup)
    return d


def _check(cmd: c.Append) -> Reply | None:
    flag = unknown_system_flag(cmd.flags)
    if flag is not None:
        return bad(f"Invalid system flag {flag}")
    if cmd.message.size == 0:
        return no("Can't save a zero byte message.")
    return None


def _close(source: Any) -> None:
    if not isinstance(source, bytes):
        source.close()
