"""``maa queue list|flush|delete|hold|release``: Postfix's ``postqueue -p``, ``postqueue -f``
and ``postsuper -d/-h/-H`` for maa's queue."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from maa.cli.common import add_config_option, load
from maa.config import Config
from maa.log import setup_logging
from maa.queue import admin
from maa.queue.store import MessageBusy, NoSuchMessage, QueueStore

EX_OK = 0
EX_NOINPUT = 66  # no such message
EX_TEMPFAIL = 75  # busy


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "queue", help="list, flush, delete, hold or release queued outgoing mail"
    )
    add_config_option(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="show the queue (postqueue -p)")
    actions.add_parser("flush", help="deliver deferred mail now (postqueue -f)")
    show = actions.add_parser("show", help="print a message's envelope and content (postcat -q)")
    show.add_argument("id", metavar="ID")
    show.add_argument("--body", action="store_true", help="the content too, not just headers")
    for name, text in (
        ("delete", "remove messages (postsuper -d); ALL for every message"),
        ("hold", "put messages on hold (postsuper -h)"),
        ("release", "release held messages (postsuper -H)"),
    ):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("ids", nargs="+", metavar="ID")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load(args)
    if args.action == "list":
        sys.stdout.write(admin.format_listing(admin.open_store(config)))
        return EX_OK
    if args.action == "flush":
        return flush(config)
    if args.action == "show":
        return show(config, args.id, body=args.body)
    return change(config, args.action, args.ids)


def flush(config: Config) -> int:
    store = admin.open_store(config)
    admin.make_due(store)
    pid = admin.running_manager(store)
    if pid is not None and admin.signal_flush(pid):
        return EX_OK
    # No queue manager runs: deliver here, as the server would (and as the user it runs as).
    if not logging.getLogger("maa").handlers:
        setup_logging(config.server.log_file)
    if admin.queue_owner(config) is not None:
        from maa.service import drop_privileges

        drop_privileges(str(config.server.user), Path(config.server.data_dir))
        store = QueueStore(store.root)
    for queue_id, result in admin.deliver_now(store, local_deliverer(config, store)):
        print(f"{queue_id}: {result}")
    return EX_OK


def show(config: Config, queue_id: str, *, body: bool) -> int:
    store = admin.open_store(config)
    try:
        found = store.find(queue_id.upper())
        text = admin.describe(store, found, body=body)
    except NoSuchMessage:
        print(f"maa queue: {queue_id}: no such message", file=sys.stderr)
        return EX_NOINPUT
    sys.stdout.buffer.write(text)
    return EX_OK


def local_deliverer(config: Config, store: Any) -> Any:
    from maa.auth import open_passwd_file
    from maa.context import StoreCache
    from maa.lda import LocalContext
    from maa.queue.delivery import Deliverer
    from maa.queue.local import lda_delivery
    from maa.queue.routing import Router

    userdb = open_passwd_file(config)
    router = Router(config, userdb)
    return Deliverer(config, store, router, lda_delivery(LocalContext(config, StoreCache())))


_VERBS = {"delete": "Deleted", "hold": "Placed on hold", "release": "Released from hold"}


def change(config: Config, action: str, ids: list[str]) -> int:
    store = admin.open_store(config)
    if config.server.log_file and not logging.getLogger("maa").handlers:
        # postsuper's lines go to the mail log too: who removed a message, and when.
        setup_logging(config.server.log_file)
    operation = {"delete": admin.delete, "hold": admin.hold, "release": admin.release}[action]
    if action == "delete" and ids == ["ALL"]:
        ids = [q.envelope.queue_id for q in store.messages()]
    status = EX_OK
    done = 0
    for queue_id in ids:
        try:
            operation(store, queue_id.upper())
        except NoSuchMessage:
            print(f"maa queue: {queue_id}: no such message", file=sys.stderr)
            status = EX_NOINPUT
            continue
        except MessageBusy:
            print(f"maa queue: {queue_id}: being delivered, try again", file=sys.stderr)
            status = EX_TEMPFAIL
            continue
        done += 1
        if action == "delete":
            print(f"maa queue: {queue_id.upper()}: removed", file=sys.stderr)
    plural = "message" if done == 1 else "messages"
    print(f"maa queue: {_VERBS[action]}: {done} {plural}", file=sys.stderr)
    return status
