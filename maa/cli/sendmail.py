"""``maa sendmail``: the sendmail(8) interface scripts and mailx expect (course §4.2).

    maa sendmail [-t] [-i|-oi] [-f SENDER] [-F NAME] [-bm|-bp] [-q] [-o...] [RECIPIENT...]

Reads the message from stdin and queues it directly through the same intake as SMTP (cleanup,
header_checks), like Postfix's postdrop; the running server's queue manager picks it up within
a second. Without ``-i``/``-oi`` a line holding a single ``.`` ends the message. ``-t`` takes
the recipients from To/Cc/Bcc (Bcc is then removed, as always). ``-bp`` lists the queue
(``mailq``), ``-q`` flushes it. Other ``-o`` options (``-odi``, ``-oem``), ``-B``, ``-L``,
``-n``, ``-U``, ``-G`` and ``-v`` are accepted and ignored, as cron (``-i -FCronDaemon
-B8BITMIME -oem root`` on Debian) and mail clients pass them. Exit codes are sendmail's
(sysexits).
"""

from __future__ import annotations

import argparse
import email.utils
import getpass
import logging
import os
import sys
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any, BinaryIO

from maa.cli.common import add_config_option, load
from maa.log import service_log, setup_logging

EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_SOFTWARE = 70
EX_TEMPFAIL = 75

log = service_log("pickup")

# The header section is read into memory for -t and -F; past this it is not headers any more
# (Postfix's header_size_limit).
HEADER_LIMIT = 102_400
RECIPIENT_HEADERS = ("To", "Cc", "Bcc")
RESENT_HEADERS = ("Resent-To", "Resent-Cc", "Resent-Bcc")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sendmail", help="queue a message read on stdin (sendmail compatible)"
    )
    add_config_option(parser)
    parser.add_argument("-t", action="store_true", help="recipients from To/Cc/Bcc")
    parser.add_argument("-i", action="store_true", help="a lone '.' does not end the message")
    parser.add_argument("-f", "-r", dest="sender", metavar="SENDER", help="envelope sender")
    parser.add_argument("-F", dest="full_name", metavar="NAME", help="full name for From:")
    parser.add_argument(
        "-o",
        dest="options",
        action="append",
        default=[],
        metavar="OPT",
        help="-oi as -i; other -o options are ignored",
    )
    parser.add_argument(
        "-b",
        dest="mode",
        default="m",
        metavar="MODE",
        help="-bm deliver (default), -bp list the queue, -bi no-op",
    )
    parser.add_argument(
        "-q", dest="flush", nargs="?", const="", default=None, help="flush the queue"
    )
    parser.add_argument("-N", dest="notify", help="DSN NOTIFY (accepted)")
    parser.add_argument("-R", dest="ret", help="DSN RET (accepted)")
    parser.add_argument("-V", dest="envid", help="DSN ENVID (accepted)")
    parser.add_argument("-v", action="count", default=0, help="ignored")
    # Accepted and ignored, as by Postfix's sendmail: Debian's cron passes -B8BITMIME.
    parser.add_argument("-B", dest="body_type", metavar="TYPE", help="body type (ignored)")
    parser.add_argument("-L", dest="label", metavar="LABEL", help="log label (ignored)")
    for flag in ("-n", "-U", "-G"):
        parser.add_argument(flag, action="store_true", help="ignored")
    parser.add_argument("-I", dest="newaliases", action="store_true", help="as -bi")
    parser.add_argument("recipients", nargs="*", metavar="RECIPIENT")
    parser.set_defaults(func=run)


def read_message(stream: BinaryIO, *, dot_ends: bool) -> bytes:
    """All of stdin, or up to a lone ``.`` line when ``dot_ends`` (sendmail without -i)."""
    if not dot_ends:
        return stream.read()
    out = bytearray()
    for line in stream:
        if line.rstrip(b"\r\n") == b".":
            break
        out += line
    return bytes(out)


def split_headers(data: bytes) -> tuple[bytes, bytes]:
    """(header section with its blank line, body); a leading mbox ``From `` line dropped."""
    if data.startswith(b"From "):
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = data.find(sep, 0, HEADER_LIMIT)
        if at >= 0:
            return data[: at + len(sep)], data[at + len(sep) :]
    return b"", data


def header_recipients(headers: bytes) -> list[str]:
    msg = BytesHeaderParser(policy=compat32).parsebytes(headers)
    names = RESENT_HEADERS if any(msg.get_all(h) for h in RESENT_HEADERS) else RECIPIENT_HEADERS
    values = [v for h in names for v in (msg.get_all(h) or [])]
    return [addr for _, addr in email.utils.getaddresses(values) if addr]


def run(args: argparse.Namespace) -> int:
    config = load(args)
    if args.mode == "p":
        from maa.queue.admin import format_listing, open_store

        sys.stdout.write(format_listing(open_store(config)))
        return EX_OK
    if args.flush is not None:
        from maa.cli.queue import flush

        return flush(config)
    if args.mode == "i" or args.newaliases:  # newaliases: the file is reread on change
        return EX_OK
    if args.mode not in ("m", "d"):
        print(f"maa sendmail: -b{args.mode} is not supported", file=sys.stderr)
        return EX_USAGE
    if not logging.getLogger("maa").handlers:
        setup_logging(config.server.log_file)
    given = (args.sender or "", args.full_name or "", *args.recipients)
    if not all(_safe(a) for a in given):
        # A CR or LF in an address or name would let it forge header lines.
        print("maa sendmail: bad address or name (line break)", file=sys.stderr)
        return EX_USAGE
    dot_ends = not (args.i or "i" in args.options)
    data = read_message(sys.stdin.buffer, dot_ends=dot_ends)
    headers, body = split_headers(data)

    from maa.auth import open_passwd_file
    from maa.queue.admin import open_store
    from maa.queue.aliases import AliasError
    from maa.queue.cleanup import enqueue_bytes
    from maa.queue.envelope import ClientInfo
    from maa.queue.routing import Router, with_domain

    router = Router(config, open_passwd_file(config))
    login = getpass.getuser()
    sender = args.sender if args.sender is not None else login
    sender = "" if sender in ("<>", "") else router.qualify(sender.strip("<>"))
    wanted = list(args.recipients)
    if args.t:
        wanted += header_recipients(headers)
    if not all(_safe(a) for a in wanted):  # from -t: getaddresses never yields a line break
        print("maa sendmail: bad address (line break)", file=sys.stderr)
        return EX_USAGE
    if not wanted:
        print("maa sendmail: no recipient addresses found", file=sys.stderr)
        return EX_USAGE
    if args.full_name and not _has_header(headers, "From"):
        name = args.full_name.replace('"', "")
        address = with_domain(sender, config.server.hostname)
        headers = f'From: "{name}" <{address}>\n'.encode() + headers
    try:
        recipients = router.envelope_recipients([router.qualify(a) for a in wanted])
    except AliasError as e:
        print(f"maa sendmail: {e}", file=sys.stderr)
        return EX_TEMPFAIL
    try:
        result = enqueue_bytes(
            open_store(config),
            headers + body,
            sender=sender,
            recipients=recipients,
            client=ClientInfo(
                host="localhost",
                address="127.0.0.1",
                protocol="local",
                sasl_username=str(os.getuid()),
            ),
            hostname=config.server.hostname,
            header_checks=router.header_checks,
        )
    except OSError as e:
        print(f"maa sendmail: cannot queue the message: {e}", file=sys.stderr)
        return EX_TEMPFAIL
    if result.outcome == "rejected":
        print(f"maa sendmail: message rejected: {result.text}", file=sys.stderr)
        return EX_DATAERR
    log.info(result.queue_id, f"uid={os.getuid()} from=<{sender}>")
    return EX_OK


def _safe(text: str) -> bool:
    return not any(ch in text for ch in "\r\n\0")


def _has_header(headers: bytes, name: str) -> bool:
    msg = BytesHeaderParser(policy=compat32).parsebytes(headers)
    return msg.get(name) is not None
