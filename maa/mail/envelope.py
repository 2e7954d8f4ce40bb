"""RFC 3501 ENVELOPE, written as Dovecot writes it, from a header block alone."""

from __future__ import annotations

from maa.mail import wire
from maa.mail.addresses import Address, parse_address_list
from maa.mail.headers import field_value, iter_fields

_STRING_FIELDS = (b"date", b"subject", b"in-reply-to", b"message-id")
_ADDRESS_FIELDS = (b"from", b"sender", b"reply-to", b"to", b"cc", b"bcc")
_WANTED = frozenset(_STRING_FIELDS + _ADDRESS_FIELDS)


def _address_list(addresses: list[Address] | None) -> bytes:
    if not addresses:
        return wire.NIL
    out = [b"("]
    for address in addresses:
        out += (
            b"(",
            wire.NIL if address.name is None else wire.for_humans(address.name),
            b" ",
            wire.nstring(address.route),
            b" ",
            wire.nstring(address.mailbox),
            b" ",
            wire.nstring(address.host),
            b")",
        )
    out.append(b")")
    return b"".join(out)


def _subject(value: bytes | None) -> bytes:
    return wire.NIL if value is None else wire.for_humans(value)


def envelope_fields(raw_headers: bytes) -> dict[bytes, list[bytes]]:
    """The values of the ENVELOPE fields present, every occurrence in order (unfolded,
    except the Subject)."""
    values: dict[bytes, list[bytes]] = {}
    for name, field in iter_fields(raw_headers):
        if name in _WANTED:
            # Line breaks stay in the Subject: a folded one goes out as a literal.
            values.setdefault(name, []).append(field_value(field, unfold=name != b"subject"))
    return values


def envelope(raw_headers: bytes) -> bytes:
    """The ENVELOPE of a message as IMAP wire text, parentheses included.

    ``raw_headers`` is the header block (more is harmless: parsing stops at the blank line).
    Values go out as sent, encoded-words undecoded; Subject and display names are tidied
    for people as Dovecot does (:func:`maa.mail.wire.for_humans`); Sender and Reply-To
    default to From. Deterministic, so it can be cached.
    """
    fields = envelope_fields(raw_headers)
    # As in Dovecot: a repeated Subject, Date, ... counts once, the last one; the addresses
    # of a repeated From, To, Cc, ... are all listed.
    values = {name: found[-1] for name, found in fields.items()}
    addresses = {
        name: [a for value in fields[name] for a in parse_address_list(value)]
        if name in fields
        else None
        for name in _ADDRESS_FIELDS
    }
    sender = addresses[b"sender"] or addresses[b"from"]
    reply_to = addresses[b"reply-to"] or addresses[b"from"]
    return b"".join(
        (
            b"(",
            wire.nstring(values.get(b"date")),
            b" ",
            _subject(values.get(b"subject")),
            b" ",
            _address_list(addresses[b"from"]),
            b" ",
            _address_list(sender),
            b" ",
            _address_list(reply_to),
            b" ",
            _address_list(addresses[b"to"]),
            b" ",
            _address_list(addresses[b"cc"]),
            b" ",
            _address_list(addresses[b"bcc"]),
            b" ",
            wire.nstring(values.get(b"in-reply-to")),
            b" ",
            wire.nstring(values.get(b"message-id")),
            b")",
        )
    )
