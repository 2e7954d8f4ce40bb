"""Intake: a message streamed into the queue, cleaned up on the way (Postfix's cleanup, §7.1).

One path for every source (SMTP, submission, ``maa sendmail``, bounces): the content arrives in
chunks, line ends are made CRLF, the header section is held (up to ``HEADER_SIZE_LIMIT``) and
rewritten — ``Received:`` prepended, ``Bcc:``/``Resent-Bcc:``/``Return-Path:``/
``Content-Length:`` removed, ``Date:``/``Message-ID:``/``From:`` added when missing,
``header_checks`` applied to each header — and the body is streamed to the queue file as it
comes, never held whole in memory. ``finish()`` makes the message durable (fsync) before it
returns, so its caller may then say 250.
"""

from __future__ import annotations

import email.utils
import re
import time
from dataclasses import dataclass
from typing import BinaryIO, Literal

from maa.log import service_log
from maa.queue.envelope import ClientInfo, Envelope, Recipient
from maa.queue.headerchecks import HeaderChecks
from maa.queue.routing import with_domain
from maa.queue.store import QueueName, QueueStore

log = service_log("cleanup")

# Postfix's header_size_limit: a header section larger than this is not held in memory for
# rewriting; the excess is passed through untouched as if it were body.
HEADER_SIZE_LIMIT = 102_400
# A line with no LF is held until its end only up to this size, then written through: an
# endless "line" must not grow memory.
PENDING_LINE_LIMIT = 65_536

REMOVED_HEADERS = frozenset({"bcc", "resent-bcc", "return-path", "content-length"})
_HEADER_NAME = re.compile(rb"^[!-9;-~]+:")


class LineNormalizer:
    """Bytes in any line-end convention in, CRLF lines out (a chunk may end mid-line)."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._pending + chunk
        head, sep, tail = data.rpartition(b"\n")
        if not sep:
            if len(data) > PENDING_LINE_LIMIT and not data.endswith(b"\r"):
                self._pending = b""
                return data
            self._pending = data
            return b""
        self._pending = tail
        lines = (head + b"\n").split(b"\n")[:-1]
        return b"".join(line.removesuffix(b"\r") + b"\r\n" for line in lines)

    def flush(self) -> bytes:
        rest, self._pending = self._pending, b""
        if not rest:
            return b""
        return rest.removesuffix(b"\r") + b"\r\n"


def _unfold(raw: bytes) -> str:
    text = raw.decode("utf-8", "surrogateescape").rstrip("\r\n")
    return re.sub(r"\r?\n(?=[ \t])", "", text)


def format_date(when: float | None = None) -> str:
    return email.utils.formatdate(when, localtime=True)


Outcome = Literal["queued", "rejected", "discarded"]


@dataclass(frozen=True)
class IntakeResult:
    outcome: Outcome
    queue_id: str
    # For "rejected": the reply text ("5.7.1 message content rejected").
    text: str = ""
    queue: QueueName = "incoming"


class Intake:
    """One message on its way into the queue. Use ``write`` for each chunk, then ``finish``
    (durable) or ``abort`` (nothing left behind)."""

    def __init__(
        self,
        store: QueueStore,
        *,
        sender: str,
        recipients: list[Recipient],
        client: ClientInfo,
        hostname: str,
        header_checks: HeaderChecks | None = None,
        ret: str | None = None,
        envid: str | None = None,
        received: bool = True,
    ) -> None:
        self.store = store
        self.queue_id, self._file = store.create_content()
        self.sender = sender
        self.recipients = recipients
        self.client = client
        self.hostname = hostname
        self.checks = header_checks or HeaderChecks()
        self.arrival = time.time()
        self._ret, self._envid = ret, envid
        self._received = received
        self._lines = LineNormalizer()
        self._header_buf: bytearray | None = bytearray()
        self._scan = 0
        self._size = 0
        self._message_id = ""
        self._reject: str | None = None
        self._discard = False
        self._hold = False
        self._closed = False

    # -- streaming -----------------------------------------------------------------------

    def write(self, chunk: bytes) -> None:
        data = self._lines.feed(chunk)
        if data:
            self._take(data)

    def _take(self, data: bytes) -> None:
        if self._header_buf is None:
            self._emit(data)
            return
        self._header_buf += data
        buf = self._header_buf
        # Find where the header section ends: an empty line, or a line that is neither a
        # header nor a continuation. Lines before _scan were looked at already.
        pos = self._scan
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                break
            line = bytes(buf[pos:eol])
            if line == b"":
                self._end_headers(bytes(buf[:pos]), bytes(buf[pos:]), blank=True)
                return
            if not (line[:1] in (b" ", b"\t") and pos > 0) and not _HEADER_NAME.match(line):
                self._end_headers(bytes(buf[:pos]), bytes(buf[pos:]), blank=False)
                return
            pos = eol + 2
        self._scan = pos
        if len(buf) > HEADER_SIZE_LIMIT:
            self._end_headers(bytes(buf[:pos]), bytes(buf[pos:]), blank=False, overflow=True)

    def _emit(self, data: bytes) -> None:
        self._file.write(data)
        self._size += len(data)

    def _end_headers(
        self, section: bytes, rest: bytes, *, blank: bool, overflow: bool = False
    ) -> None:
        self._header_buf = None
        headers = self._split_headers(section)
        out: list[bytes] = []
        if self._received:
            out.append(self._received_header())
        seen: set[str] = set()
        for name, raw in headers:
            lname = name.lower()
            seen.add(lname)
            if lname == "message-id" and not self._message_id:
                self._message_id = _unfold(raw).partition(":")[2].strip()
            if self._apply_checks(_unfold(raw)) == "IGNORE" or lname in REMOVED_HEADERS:
                continue
            out.append(raw)
        if not overflow:
            if "from" not in seen:
                sender = with_domain(self.sender, self.hostname) or "MAILER-DAEMON"
                out.append(f"From: {sender}\r\n".encode())
            if "date" not in seen:
                out.append(f"Date: {format_date(self.arrival)}\r\n".encode())
            if "message-id" not in seen:
                stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(self.arrival))
                self._message_id = f"<{stamp}.{self.queue_id}@{self.hostname}>"
                out.append(f"Message-ID: {self._message_id}\r\n".encode())
        self._emit(b"".join(out))
        if not blank and not overflow:
            self._emit(b"\r\n")
        if rest:
            self._emit(rest)

    @staticmethod
    def _split_headers(section: bytes) -> list[tuple[str, bytes]]:
        headers: list[tuple[str, bytes]] = []
        for line in section.split(b"\r\n")[:-1] if section else []:
            if line[:1] in (b" ", b"\t") and headers:
                name, raw = headers[-1]
                headers[-1] = (name, raw + line + b"\r\n")
            else:
                name = line.split(b":", 1)[0].decode("ascii", "replace")
                headers.append((name, line + b"\r\n"))
        return headers

    def _apply_checks(self, header: str) -> str | None:
        if self._reject is not None or not self.checks.rules:
            return None
        verdict = self.checks.check(header)
        if verdict is None or verdict.action == "DUNNO":
            return None
        first = self.recipients[0].original if self.recipients else ""
        where = (
            f"header {header} from {self.client.label}; from=<{self.sender}> to=<{first}> "
            f"proto={self.client.protocol} helo=<{self.client.helo}>"
        )
        suffix = f": {verdict.text}" if verdict.text else ""
        if verdict.action == "WARN":
            log.warning(self.queue_id, f"{where}{suffix}")
        elif verdict.action == "REJECT":
            text = verdict.text or "message content rejected"
            self._reject = f"5.7.1 {text}"
            log.info(self.queue_id, f"reject: {where}: {self._reject}")
        elif verdict.action == "DISCARD":
            self._discard = True
            log.info(self.queue_id, f"discard: {where}{suffix}")
        elif verdict.action == "HOLD":
            self._hold = True
            log.info(self.queue_id, f"hold: {where}{suffix}")
        return verdict.action

    def _received_header(self) -> bytes:
        c = self.client
        for_part = f"\r\n\tfor <{self.recipients[0].original}>" if len(self.recipients) == 1 else ""
        if c.protocol == "local":
            text = (
                f"Received: by {self.hostname} (maa, from userid {c.sasl_username or '?'})\r\n"
                f"\tid {self.queue_id}{for_part}; {format_date(self.arrival)}\r\n"
            )
        else:
            # RFC 5321 4.1.3: an IPv6 address literal carries the "IPv6:" tag.
            literal = f"IPv6:{c.address}" if ":" in c.address else c.address
            text = (
                f"Received: from {c.helo or c.host} ({c.host} [{literal}])\r\n"
                f"\tby {self.hostname} (maa) with {c.protocol} id {self.queue_id}{for_part};\r\n"
                f"\t{format_date(self.arrival)}\r\n"
            )
        return text.encode("utf-8", "surrogateescape")

    # -- ending --------------------------------------------------------------------------

    def finish(self) -> IntakeResult:
        """Flush, apply what header_checks decided, and (unless rejected or discarded) make the
        message durable in the queue."""
        tail = self._lines.flush()
        if tail:
            self._take(tail)
        if self._header_buf is not None:
            buf = bytes(self._header_buf)
            self._end_headers(buf, b"", blank=False)
        self._closed = True
        if self._reject is not None:
            self.store.discard_content(self.queue_id, self._file)
            return IntakeResult("rejected", self.queue_id, self._reject)
        if self._discard:
            self.store.discard_content(self.queue_id, self._file)
            return IntakeResult("discarded", self.queue_id)
        envelope = Envelope(
            queue_id=self.queue_id,
            sender=self.sender,
            recipients=tuple(self.recipients),
            arrival=self.arrival,
            size=self._size,
            client=self.client,
            ret=self._ret,
            envid=self._envid,
            message_id=self._message_id,
        )
        queue: QueueName = "hold" if self._hold else "incoming"
        self.store.commit(envelope, self._file, queue)
        if self._message_id:
            log.info(self.queue_id, f"message-id={self._message_id}")
        return IntakeResult("queued", self.queue_id, queue=queue)

    def abort(self) -> None:
        if not self._closed:
            self._closed = True
            self.store.discard_content(self.queue_id, self._file)

    @property
    def size(self) -> int:
        return self._size


def enqueue_bytes(
    store: QueueStore,
    data: bytes | BinaryIO,
    *,
    sender: str,
    recipients: list[Recipient],
    client: ClientInfo,
    hostname: str,
    header_checks: HeaderChecks | None = None,
    received: bool = True,
) -> IntakeResult:
    """Queue a whole message (bounces, ``maa sendmail``)."""
    intake = Intake(
        store,
        sender=sender,
        recipients=recipients,
        client=client,
        hostname=hostname,
        header_checks=header_checks,
        received=received,
    )
    try:
        if isinstance(data, bytes):
            intake.write(data)
        else:
            while chunk := data.read(65536):
                intake.write(chunk)
        return intake.finish()
    except BaseException:
        intake.abort()
        raise
