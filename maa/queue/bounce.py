"""Delivery status notifications (RFC 3464): what the sender gets when mail could not be
delivered (Postfix's bounce(8)).

A DSN is a ``multipart/report; report-type=delivery-status`` message from ``MAILER-DAEMON`` with
the null sender ``<>`` (so a DSN about a DSN is never sent: messages from ``<>`` get none), a
human-readable part, the machine-readable ``message/delivery-status`` part, and the original
message (``message/rfc822``) or just its headers (``text/rfc822-headers``) when the sender
asked ``RET=HDRS`` or the message is large.
"""

from __future__ import annotations

import email.utils
import secrets
from collections.abc import Sequence
from pathlib import Path

from maa.queue.envelope import Envelope, Recipient

# Postfix's bounce_size_limit: return at most this much of the original message whole; past
# it, only its headers.
BOUNCE_SIZE_LIMIT = 50_000


def _header_section(path: Path) -> bytes:
    out = bytearray()
    with path.open("rb") as f:
        for line in f:
            if line in (b"\r\n", b"\n"):
                break
            out += line
            if len(out) > BOUNCE_SIZE_LIMIT:
                break
    return bytes(out)


def _address_type(address: str) -> str:
    return "rfc822" if address.isascii() else "utf-8"


def build_dsn(
    envelope: Envelope,
    failed: Sequence[Recipient],
    content: Path,
    *,
    hostname: str,
    expired: bool = False,
) -> bytes:
    """The DSN for ``failed`` recipients of ``envelope``, CRLF line ends."""
    boundary = f"{envelope.queue_id}.{secrets.token_hex(8)}/{hostname}"
    now = email.utils.formatdate(localtime=True)
    lines = [
        f"From: MAILER-DAEMON@{hostname} (Mail Delivery System)",
        f"To: {envelope.sender}",
        "Subject: Undelivered Mail Returned to Sender",
        f"Date: {now}",
        f"Message-ID: <{secrets.token_hex(8)}.{envelope.queue_id}@{hostname}>",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report; report-type=delivery-status;",
        f'\tboundary="{boundary}"',
        "Content-Transfer-Encoding: 8bit",
        "",
        "This is a MIME-encapsulated message.",
        "",
        f"--{boundary}",
        "Content-Description: Notification",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        f"This is the mail system at host {hostname}.",
        "",
        "I'm sorry to have to inform you that your message could not",
        "be delivered to one or more recipients. It's attached below.",
        "",
    ]
    if expired:
        lines += ["The message stayed in the queue longer than allowed.", ""]
    for r in failed:
        lines.append(f"<{r.address}>: {r.reason}")
    lines += [
        "",
        f"--{boundary}",
        "Content-Description: Delivery report",
        "Content-Type: message/delivery-status",
        "",
        f"Reporting-MTA: dns; {hostname}",
        f"X-Maa-Queue-ID: {envelope.queue_id}",
    ]
    if envelope.envid:
        lines.append(f"Original-Envelope-Id: {envelope.envid}")
    lines.append(f"Arrival-Date: {email.utils.formatdate(envelope.arrival, localtime=True)}")
    for r in failed:
        lines += ["", f"Final-Recipient: {_address_type(r.address)}; {r.address}"]
        if r.orcpt:
            lines.append(f"Original-Recipient: {r.orcpt}")
        elif r.original and r.original != r.address:
            lines.append(f"Original-Recipient: {_address_type(r.original)}; {r.original}")
        lines += ["Action: failed", f"Status: {r.dsn_status or '5.0.0'}"]
        if r.remote and r.remote not in ("none", "local"):
            lines.append(f"Remote-MTA: dns; {r.remote.partition('[')[0]}")
        if r.reason[:3].isdigit():
            lines.append(f"Diagnostic-Code: smtp; {r.reason}")
        else:
            lines.append(f"Diagnostic-Code: X-maa; {r.reason}")
    whole = envelope.ret != "HDRS" and envelope.size <= BOUNCE_SIZE_LIMIT
    lines += [
        "",
        f"--{boundary}",
        "Content-Description: "
        + ("Undelivered Message" if whole else "Undelivered Message Headers"),
        "Content-Type: " + ("message/rfc822" if whole else "text/rfc822-headers"),
        "Content-Transfer-Encoding: 8bit",
        "",
        "",
    ]
    head = "\r\n".join(lines).encode("utf-8")
    try:
        original = content.read_bytes() if whole else _header_section(content)
    except FileNotFoundError:
        original = b""
    if original and not original.endswith(b"\r\n"):
        original += b"\r\n"
    return head + original + f"\r\n--{boundary}--\r\n".encode()


def wants_dsn(envelope: Envelope, recipient: Recipient) -> bool:
    """Never for the null sender (no bounce about a bounce); never with ``NOTIFY=NEVER``; with
    an explicit NOTIFY list, only if it holds FAILURE."""
    if not envelope.sender:
        return False
    notify = {n.upper() for n in recipient.notify}
    return not notify or "FAILURE" in notify
