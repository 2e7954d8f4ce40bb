"""``maa deliver``: put a message from stdin into a user's mailbox, like Dovecot's
``dovecot-lda`` (Postfix ``mailbox_command``, procmail, scripts).

Exit codes are sysexits(3) values, which Postfix's local(8) and pipe(8) understand:
0 delivered; 64 usage error; 67 unknown user (bounce); 69 refused for good (too large...);
75 temporary failure (Postfix keeps the mail and retries); 78 bad configuration.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from typing import Any, BinaryIO

from maa.cli.common import add_config_option, load
from maa.lda import LocalContext, LocalStores, deliver, resolve_recipient
from maa.log import setup_logging

# stdin is copied to a spool file in pieces of this size: a 50 MB message stays out of memory.
COPY_CHUNK = 256 * 1024
# The longest mbox "From " line considered; a longer first line is message content.
MAX_FROM_LINE = 1000
DEFAULT_SENDER = "MAILER-DAEMON"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "deliver",
        help="deliver a message read on stdin to a mailbox (like dovecot-lda)",
        description="Deliver the message on stdin to USER's mailbox. Exit status: 0 saved, "
        "67 unknown user, 69 refused, 75 temporary failure (retry later).",
    )
    add_config_option(parser)
    parser.add_argument("-d", dest="user", metavar="USER", help="the recipient: login or address")
    parser.add_argument(
        "-f",
        dest="sender",
        metavar="SENDER",
        help="envelope sender (default: a leading mbox 'From ' line's, else MAILER-DAEMON)",
    )
    parser.add_argument(
        "-a", dest="address", metavar="ADDRESS", help="original recipient for Delivered-To"
    )
    parser.add_argument(
        "-m", dest="folder", metavar="FOLDER", help="save into FOLDER when it exists, else INBOX"
    )
    parser.set_defaults(func=run)


def traced_by_mta(spool: BinaryIO) -> bool:
    """Whether the message starts with trace headers an MTA put there: Postfix's local(8)
    (and Exim, sendmail's mail.local) prepend ``Return-Path:`` and ``Delivered-To:`` before
    running the mailbox command, so adding ours would give the message two of each. The
    spool is left where it was."""
    start = spool.tell()
    first = spool.readline(MAX_FROM_LINE).lower()
    spool.seek(start)
    return first.startswith((b"return-path:", b"delivered-to:", b"x-original-to:"))


def spool_stdin(source: BinaryIO) -> tuple[BinaryIO, str | None]:
    """Copy ``source`` into an anonymous temp file; drop a leading mbox ``From `` line and
    return the sender it names."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    sender: str | None = None
    first = source.readline(MAX_FROM_LINE)
    if first.startswith(b"From ") and first.endswith(b"\n"):
        words = first.split()
        if len(words) >= 2:
            sender = words[1].decode("utf-8", "replace").strip("<>")
    else:
        spool.write(first)
    while chunk := source.read(COPY_CHUNK):
        spool.write(chunk)
    spool.flush()
    spool.seek(0)
    return spool, sender


def run(args: argparse.Namespace) -> int:
    if not args.user:
        print("usage: maa deliver -d USER [-f SENDER] [-a ADDRESS] [-m FOLDER]", file=sys.stderr)
        return os.EX_USAGE
    config = load(args)
    try:
        from maa.auth import open_passwd_file

        userdb = open_passwd_file(config)
        user, _detail = resolve_recipient(userdb, args.user, config.mail.recipient_delimiter)
    except Exception as e:  # an unreadable users file must not bounce mail: retry later
        print(f"maa deliver: user lookup failed: {e}", file=sys.stderr)
        return os.EX_TEMPFAIL
    if user is None:
        print(f"maa deliver: {args.user}: unknown user", file=sys.stderr)
        return os.EX_NOUSER
    try:
        setup_logging(config.server.log_file)
    except OSError as e:  # e.g. run as the mail user, who may not write the server's log
        setup_logging(None)
        print(f"maa deliver: logging to stderr: {e}", file=sys.stderr)
    try:
        stream, from_line = spool_stdin(sys.stdin.buffer)
    except OSError as e:
        print(f"maa deliver: cannot read the message: {e}", file=sys.stderr)
        return os.EX_TEMPFAIL
    sender = args.sender if args.sender is not None else (from_line or DEFAULT_SENDER)
    try:
        with stream:
            result = deliver(
                LocalContext(config, LocalStores()),
                user,
                stream,
                sender=sender,
                recipient=args.address or args.user,
                folder=args.folder,
                log_service="lda",
                trace=not traced_by_mta(stream),
            )
    except Exception as e:  # whatever went wrong, the MTA keeps the mail and retries
        print(f"maa deliver: delivery failed: {e!r}", file=sys.stderr)
        return os.EX_TEMPFAIL
    if result.ok:
        return 0
    print(f"maa deliver: {result.status} {result.reason}", file=sys.stderr)
    return os.EX_TEMPFAIL if result.temporary else os.EX_UNAVAILABLE
