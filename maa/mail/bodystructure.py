"""BODY and BODYSTRUCTURE (RFC 3501 section 7.4.2) from a part tree, as Dovecot writes them."""

from __future__ import annotations

from maa.mail import wire
from maa.mail.content import ContentFields, Params
from maa.mail.envelope import envelope
from maa.mail.mime import MessageParts, MimePart

DEFAULT_CHARSET = b'"charset" "us-ascii"'
# What Dovecot writes for a multipart that has no parts at all (not allowed by MIME).
EMPTY_BODY = b'("text" "plain" (' + DEFAULT_CHARSET + b') NIL NIL "7bit" 0 0)'
EMPTY_BODYSTRUCTURE = (
    b'("text" "plain" (' + DEFAULT_CHARSET + b') NIL NIL "7bit" 0 0 NIL NIL NIL NIL)'
)


def _params(params: Params, default_charset: bool) -> bytes:
    if not params and not default_charset:
        return wire.NIL
    items = [wire.string(name) + b" " + wire.string(value) for name, value in params]
    if default_charset and not any(name.lower() == b"charset" for name, _ in params):
        items.append(DEFAULT_CHARSET)
    return b"(" + b" ".join(items) + b")"


def _common_extension(content: ContentFields) -> bytes:
    """disposition, language, location: shared by single parts and multiparts."""
    if content.disposition is None:
        disposition = wire.NIL
    else:
        disposition = (
            b"("
            + wire.string(content.disposition)
            + b" "
            + _params(content.disposition_params, False)
            + b")"
        )
    if content.language is None:
        language = wire.NIL
    else:
        language = b"(" + b" ".join(wire.string(tag) for tag in content.language) + b")"
    return b" ".join((disposition, language, wire.nstring_nolf(content.location)))


def _single(raw: bytes, part: MimePart, extensible: bool) -> bytes:
    content = part.content
    message = part.message
    if message is not None:
        head = b'"message" "rfc822"'
        text = False
    else:
        head = wire.string(part.type) + b" " + wire.string(part.subtype)
        text = part.is_text
    fields = [
        head,
        _params(content.params, text),
        wire.nstring_nolf(content.id),
        wire.nstring_nolf(content.description),
        b'"7bit"' if content.encoding is None else wire.string(content.encoding),
        b"%d" % part.size,
    ]
    if text:
        fields.append(b"%d" % part.lines)
    elif message is not None:
        fields += (
            envelope(raw[message.header_start : message.body_start]),
            _structure(raw, message, extensible),
            b"%d" % part.lines,
        )
    if extensible:
        fields += (wire.nstring_nolf(content.md5), _common_extension(content))
    return b" ".join(fields)


def _multipart(raw: bytes, part: MimePart, extensible: bool) -> bytes:
    if part.children:
        children = b"".join(_structure(raw, child, extensible) for child in part.children)
    else:
        children = EMPTY_BODYSTRUCTURE if extensible else EMPTY_BODY
    out = children + b" " + wire.string(part.subtype)
    if extensible:
        out += b" " + _params(part.content.params, False) + b" " + _common_extension(part.content)
    return out


def _structure(raw: bytes, part: MimePart, extensible: bool) -> bytes:
    if part.multipart:
        return b"(" + _multipart(raw, part, extensible) + b")"
    return b"(" + _single(raw, part, extensible) + b")"


def bodystructure(parts: MessageParts, *, extensible: bool = True) -> bytes:
    """BODYSTRUCTURE (``extensible=True``, with extension data) or BODY as IMAP wire text,
    parentheses included. Sizes are of the body as sent; line counts are LFs of the CRLF form.
    Deterministic, so it can be cached."""
    return _structure(parts.raw, parts.root, extensible)
