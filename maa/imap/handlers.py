"""Which executor runs each command that needs nothing from the connection but its session
(the rest, which touch the socket or the login, are the protocol's own methods)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer

from maa.imap import append, general, mailboxes, messages
from maa.imap.session import Reply, Session
from maa.proto.imap import commands as c
from maa.proto.imap.sortcommands import Sort, Thread

SessionHandler = Callable[[Session, Any], Reply | defer.Deferred[Reply]]

HANDLERS: dict[type, SessionHandler] = {
    c.Capability: general.capability,
    c.Noop: general.noop,
    c.Id: general.id_,
    c.Enable: general.enable,
    c.Append: append.append,
    c.List: mailboxes.list_folders,
    c.Lsub: mailboxes.list_folders,
    c.Create: mailboxes.create,
    c.Delete: mailboxes.delete,
    c.Rename: mailboxes.rename,
    c.Subscribe: mailboxes.subscribe,
    c.Unsubscribe: mailboxes.unsubscribe,
    c.Status: mailboxes.status,
    c.Namespace: mailboxes.namespace,
    c.Select: messages.select,
    c.Examine: messages.select,
    c.Close: messages.close,
    c.Unselect: messages.unselect,
    c.Check: messages.check,
    c.Expunge: messages.expunge,
    c.UidExpunge: messages.expunge,
    c.Search: messages.search,
    c.Fetch: messages.fetch,
    c.Store: messages.store,
    c.Copy: messages.copy,
    c.Move: messages.copy,
    Sort: messages.sort,
    Thread: messages.thread,
}
