"""Who may send what, decided without I/O (Postfix's smtpd restrictions).

Two roles share the SMTP engine:

- ``submission`` (587 with STARTTLS, 465 with implicit TLS): AUTH is required before MAIL
  (``530 5.7.0``); an authenticated user may send anywhere, but only as their own address or
  one of their aliases when ``[submission] restrict_sender`` (``553 5.7.1``).
- ``mx`` (the port 25 role): anyone may send to hosted domains; mail for other domains is
  relayed only for clients in ``[smtp] mynetworks`` or that authenticated, else
  ``554 5.7.1 <addr>: Relay access denied`` (Postfix's reply). Never an open relay.

In both roles an address in a hosted domain that is neither a user nor an alias is refused at
RCPT with ``550 5.1.1``, and AUTH (PLAIN/LOGIN send the password in the clear) is offered only
under TLS, or on loopback, or when ``[auth] disable_plaintext_auth = false``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from maa.auth.model import MailUser
from maa.config import Config
from maa.proto.smtp import Dialect, Settings
from maa.proto.smtp.replies import Reply
from maa.queue.aliases import AliasError
from maa.queue.envelope import Recipient
from maa.queue.routing import Router

Role = Literal["submission", "mx"]

S530_AUTH_REQUIRED = Reply(530, "5.7.0", "Authentication required")
S250_SENDER_OK = Reply(250, "2.1.0", "Ok")
S250_RCPT_OK = Reply(250, "2.1.5", "Ok")
S535_AUTH_FAILED = Reply(535, "5.7.8", "Error: authentication failed")
S235_AUTH_OK = Reply(235, "2.7.0", "Authentication successful")
S451_TEMPORARY = Reply(451, "4.3.0", "Error: queue file write error")


def lookup_failed(address: str) -> Reply:
    return Reply(451, "4.3.0", f"<{address}>: Temporary lookup failure")


def relay_denied(address: str) -> Reply:
    return Reply(554, "5.7.1", f"<{address}>: Relay access denied")


def user_unknown(address: str) -> Reply:
    return Reply(550, "5.1.1", f"<{address}>: Recipient address rejected: User unknown")


def sender_not_owned(address: str, user: MailUser) -> Reply:
    return Reply(
        553, "5.7.1", f"<{address}>: Sender address rejected: not owned by user {user.login}"
    )


def queued(queue_id: str) -> Reply:
    return Reply(250, "2.0.0", f"Ok: queued as {queue_id}")


def content_rejected(text: str) -> Reply:
    status, _, rest = text.partition(" ")
    return Reply(550, status, rest or "Error: message content rejected")


def parse_networks(
    networks: Iterable[str],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks if n.strip())


def in_networks(
    address: str, networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    """Is the client ``address`` in one of ``networks`` (IPv4-mapped IPv6 counts as IPv4)?"""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in networks)


def plaintext_auth_allowed(config: Config, *, peer_is_loopback: bool) -> bool:
    """May AUTH PLAIN/LOGIN be offered before TLS? (Dovecot's disable_plaintext_auth)"""
    return peer_is_loopback or not config.auth.disable_plaintext_auth


def engine_settings(config: Config, *, implicit_tls: bool, peer_is_loopback: bool) -> Settings:
    """The SMTP engine's settings for one connection: STARTTLS unless TLS is implicit, AUTH
    always, in cleartext only where ``plaintext_auth_allowed``."""
    return Settings(
        Dialect.SMTP,
        hostname=config.server.hostname,
        max_message_size=config.mail.max_message_size,
        starttls=not implicit_tls,
        tls_active=implicit_tls,
        auth=True,
        plaintext_auth=plaintext_auth_allowed(config, peer_is_loopback=peer_is_loopback),
    )


@dataclass
class Policy:
    role: Role
    config: Config
    router: Router
    # The client is in [smtp] mynetworks (port 25 role only).
    trusted_network: bool = False

    def mail_from(self, sender: str, user: MailUser | None) -> Reply:
        if self.role == "submission" and user is None:
            return S530_AUTH_REQUIRED
        if (
            user is not None
            and sender
            and self.config.submission.restrict_sender
            and not self.router.owns_sender(user, sender)
        ):
            return sender_not_owned(sender, user)
        return S250_SENDER_OK

    def rcpt_to(
        self,
        address: str,
        user: MailUser | None,
        *,
        notify: tuple[str, ...] = (),
        orcpt: str | None = None,
    ) -> tuple[Reply, list[Recipient]]:
        """The reply, and the envelope recipients the address expands to when accepted."""
        if self.router.is_local(address):
            if not self.router.accepts(address):
                return user_unknown(address), []
        elif user is None and not (self.role == "mx" and self.trusted_network):
            return relay_denied(address), []
        try:
            recipients = self.router.recipients_for(address, notify=notify, orcpt=orcpt)
        except AliasError:  # an alias loop or a too large list: the admin must fix it
            return lookup_failed(address), []
        return S250_RCPT_OK, recipients
