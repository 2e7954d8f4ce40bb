"""Outbound SMTP: hand a queued message to the next hop (Postfix's smtp(8) client).

Built on the standard library's ``smtplib``, run in a worker thread: it already speaks EHLO,
STARTTLS and AUTH PLAIN/LOGIN correctly, which is all a relay client needs. What it lacks is
done here: per-recipient results (``sendmail()`` raises as soon as one recipient is refused
and would keep the whole message in memory), so MAIL/RCPT/DATA are issued one by one and the
content is streamed from the queue file with dot-stuffing.

STARTTLS is used whenever the server offers it, without verifying the certificate, like
Postfix's ``smtp_tls_security_level = may``; a failed handshake is retried in plaintext.
Replies map to per-recipient outcomes: 2xx sent, 4xx or a connection failure deferred, 5xx
bounced.
"""

from __future__ import annotations

import ipaddress
import re
import smtplib
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import dns.exception

# Record types imported now: dnspython loads them on first use, which fails once ``maa serve``
# has dropped privileges if the Python install is not readable by that user.
import dns.rdtypes.ANY.MX
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import dns.resolver

from maa.log import service_log
from maa.queue.transport import NextHop
from maa.tls import address_is_loopback

Outcome = Literal["sent", "deferred", "bounced"]

log = service_log("smtp")

# Postfix waits 300 s for most replies (smtp_*_timeout); a queue worker thread may wait as long.
REPLY_TIMEOUT = 300.0
# ... but only 30 s for a connection (smtp_connect_timeout): a dead MX is skipped quickly.
CONNECT_TIMEOUT = 30.0
# Content is sent in blocks of this size (the dot-stuffed lines of the queue file).
SEND_BLOCK = 65536

_STATUS = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class Result:
    address: str
    outcome: Outcome
    reply: str
    dsn_status: str
    relay: str  # "host[ip]:port", or "none"


class DnsFailure(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def outcome_for(code: int) -> Outcome:
    if 200 <= code < 300:
        return "sent"
    if 500 <= code < 600:
        return "bounced"
    return "deferred"


def dsn_status(code: int, text: str) -> str:
    m = _STATUS.match(text)
    if m:
        return f"{m.group(1)}.{m.group(2)}.{m.group(3)}"
    return {2: "2.0.0", 5: "5.0.0"}.get(code // 100, "4.0.0")


def format_reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {' '.join(text.split())}".strip()


def mx_hosts(nexthop: NextHop, resolver: dns.resolver.Resolver | None = None) -> list[str]:
    """The hosts to try for a next hop, best first (``resolver``: the system's by default)."""
    if not nexthop.mx_lookup:
        return [nexthop.host]
    try:
        answer = (resolver or dns.resolver.get_default_resolver()).resolve(nexthop.host, "MX")
    except dns.resolver.NXDOMAIN as e:
        raise DnsFailure(f"Host or domain name not found: {nexthop.host}", permanent=True) from e
    except dns.resolver.NoAnswer:
        return [nexthop.host]  # RFC 5321 5.1: no MX, use the domain's address
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as e:
        raise DnsFailure(
            f"Host or domain name lookup failed for {nexthop.host}: {e}", permanent=False
        ) from e
    records = sorted(answer, key=lambda r: r.preference)
    hosts = [str(r.exchange).rstrip(".") for r in records]
    if hosts == [""]:  # RFC 7505 null MX: the domain accepts no mail
        raise DnsFailure(f"Domain {nexthop.host} does not accept mail (null MX)", permanent=True)
    return [h for h in hosts if h]


def host_addresses(host: str, resolver: dns.resolver.Resolver | None = None) -> list[str]:
    """A mail host's addresses, IPv4 first. Looked up in DNS, as Postfix's default
    ``smtp_host_lookup = dns`` does (no /etc/hosts), except IP literals and ``localhost``."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    if host == "localhost" or host.endswith(".localhost"):
        return ["127.0.0.1", "::1"]
    resolver = resolver or dns.resolver.get_default_resolver()
    found: list[str] = []
    for rtype in ("A", "AAAA"):
        try:
            found += [r.to_text() for r in resolver.resolve(host, rtype)]
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            continue
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as e:
            raise DnsFailure(f"Host name lookup failed for {host}: {e}", permanent=False) from e
    if not found:
        raise DnsFailure(f"Host or domain name not found: {host}", permanent=False)
    return found


def _unverified_tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _stuffed_blocks(path: Path) -> Iterable[bytes]:
    """The content of a queue file dot-stuffed (RFC 5321 4.5.2), in blocks."""
    block = bytearray()
    with path.open("rb") as f:
        for line in f:
            if line.startswith(b"."):
                block += b"."
            block += line
            if len(block) >= SEND_BLOCK:
                yield bytes(block)
                block.clear()
    if block and not block.endswith(b"\r\n"):
        block += b"\r\n"
    if block:
        yield bytes(block)


@dataclass(frozen=True)
class Message:
    sender: str
    recipients: tuple[str, ...]
    content: Path
    size: int
    ret: str | None = None
    envid: str | None = None
    # RFC 3461 RCPT parameters per recipient ("NOTIFY=FAILURE", "ORCPT=rfc822;a@b"), passed
    # on when the next hop supports DSN.
    rcpt_options: dict[str, tuple[str, ...]] = field(default_factory=dict)


class SmtpClient:
    def __init__(
        self,
        helo: str,
        *,
        timeout: float = REPLY_TIMEOUT,
        resolver: dns.resolver.Resolver | None = None,
    ) -> None:
        self.helo = helo
        self.timeout = timeout
        self.resolver = resolver

    def send(
        self, nexthop: NextHop, message: Message, *, auth: tuple[str, str] | None = None
    ) -> list[Result]:
        """Try each host of ``nexthop`` in turn until one takes the transaction; AUTH with
        ``auth`` when the server offers it — only under TLS or on loopback, so the password
        never crosses a network in the clear."""
        try:
            hosts = mx_hosts(nexthop, self.resolver)
        except DnsFailure as e:
            outcome: Outcome = "bounced" if e.permanent else "deferred"
            status = "5.4.4" if e.permanent else "4.4.3"
            return [Result(a, outcome, str(e), status, "none") for a in message.recipients]
        last_error = "no mail hosts"
        for host in hosts:
            try:
                addresses = host_addresses(host, self.resolver)
            except DnsFailure as e:
                last_error = str(e)
                continue
            for address in addresses:
                try:
                    return self._send_to(host, address, nexthop.port, message, auth)
                except _TryNextHost as e:
                    last_error = str(e)
        return [Result(a, "deferred", last_error, "4.4.1", "none") for a in message.recipients]

    def _send_to(
        self, host: str, address: str, port: int, message: Message, auth: tuple[str, str] | None
    ) -> list[Result]:
        try:
            return self._session(host, address, port, message, auth, starttls=True)
        except _TlsFailed as e:
            if auth is not None and not address_is_loopback(address):
                raise  # the password needs TLS: deferred until the handshake works
            # smtp_tls_security_level = may: a failed handshake is retried without TLS, as
            # Postfix does.
            log.warning(None, f"{e}; trying again without TLS")
            return self._session(host, address, port, message, auth, starttls=False)

    def _session(
        self,
        host: str,
        address: str,
        port: int,
        message: Message,
        auth: tuple[str, str] | None,
        *,
        starttls: bool,
    ) -> list[Result]:
        relay = f"{host}[{address}]:{port}"
        try:
            smtp = smtplib.SMTP(
                address, port, timeout=min(CONNECT_TIMEOUT, self.timeout), local_hostname=self.helo
            )
        except (OSError, smtplib.SMTPException) as e:
            raise _TryNextHost(f"connect to {relay}: {_reason(e)}") from e
        smtp.timeout = self.timeout  # STARTTLS wraps the socket with this one
        if smtp.sock is not None:
            smtp.sock.settimeout(self.timeout)
        peer = address
        try:
            return self._transaction(
                smtp, relay, message, auth, address_is_loopback(peer), starttls=starttls
            )
        except _TryNextHost:
            raise
        except (OSError, smtplib.SMTPException, ValueError) as e:
            raise _TryNextHost(f"lost connection with {relay}: {_reason(e)}") from e
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def _transaction(
        self,
        smtp: smtplib.SMTP,
        relay: str,
        message: Message,
        auth: tuple[str, str] | None,
        loopback: bool,
        *,
        starttls: bool = True,
    ) -> list[Result]:
        code, msg = smtp.ehlo()
        if code != 250:
            code, msg = smtp.helo()
            if code != 250:
                raise _TryNextHost(f"host {relay} refused to talk to me: {format_reply(code, msg)}")
        tls = False
        if starttls and smtp.has_extn("starttls"):
            try:
                code, msg = smtp.starttls(context=_unverified_tls())
            except OSError as e:  # a refusal (454), an SSL error, a reset mid-handshake
                raise _TlsFailed(f"TLS handshake with {relay} failed: {_reason(e)}") from e
            tls = code == 220
            smtp.ehlo()
        if auth is not None and smtp.has_extn("auth"):
            if not (tls or loopback):
                # Not in the clear; and going on without AUTH would have the relay refuse
                # each message for good: wait for TLS instead (Postfix's noplaintext).
                raise _TryNextHost(f"SASL authentication to {relay} not attempted: no TLS")
            try:
                smtp.login(*auth)
            except smtplib.SMTPAuthenticationError as e:
                raise _TryNextHost(
                    f"SASL authentication failed; server {relay} said: "
                    f"{format_reply(e.smtp_code, e.smtp_error)}"
                ) from e
        options: list[str] = []
        if smtp.has_extn("size"):
            options.append(f"SIZE={message.size}")
        if smtp.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        dsn = smtp.has_extn("dsn")
        if dsn and message.ret:
            options.append(f"RET={message.ret}")
        if dsn and message.envid:
            options.append(f"ENVID={message.envid}")
        everything = (message.sender, *message.recipients)
        if not all(a.isascii() for a in everything):
            if not smtp.has_extn("smtputf8"):
                # RFC 6531 3.4: a non-ASCII address cannot be sent at all; waiting for
                # another try changes nothing (Postfix bounces the same way).
                text = f"SMTPUTF8 is required, but was not offered by host {relay}"
                return [Result(a, "bounced", text, "5.6.7", relay) for a in message.recipients]
            options.append("SMTPUTF8")
        code, msg = smtp.mail(message.sender, options)
        if code != 250:
            return self._all(message.recipients, code, msg, relay)
        accepted: list[str] = []
        results: list[Result] = []
        for address in message.recipients:
            rcpt_options = list(message.rcpt_options.get(address, ())) if dsn else []
            code, msg = smtp.rcpt(address, rcpt_options)
            if 200 <= code < 300:
                accepted.append(address)
            else:
                results.append(self._result(address, code, msg, relay))
        if not accepted:
            smtp.rset()
            return results
        smtp.putcmd("data")
        code, msg = smtp.getreply()
        if code != 354:
            return results + self._all(accepted, code, msg, relay)
        for block in _stuffed_blocks(message.content):
            smtp.send(block)
        smtp.send(b".\r\n")
        code, msg = smtp.getreply()
        return results + self._all(accepted, code, msg, relay)

    def _result(self, address: str, code: int, msg: bytes, relay: str) -> Result:
        reply = format_reply(code, msg)
        return Result(address, outcome_for(code), reply, dsn_status(code, reply[4:]), relay)

    def _all(self, addresses: Iterable[str], code: int, msg: bytes, relay: str) -> list[Result]:
        return [self._result(a, code, msg, relay) for a in addresses]


class _TryNextHost(Exception):
    pass


class _TlsFailed(_TryNextHost):
    """STARTTLS was offered and accepted, then the handshake failed."""


def _reason(e: BaseException) -> str:
    if isinstance(e, ConnectionRefusedError):
        return "Connection refused"
    if isinstance(e, socket.timeout | TimeoutError):
        return "Connection timed out"
    if isinstance(e, smtplib.SMTPServerDisconnected):
        return "server closed the connection"
    return str(e) or type(e).__name__
