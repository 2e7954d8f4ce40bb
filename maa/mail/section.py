"""``BODY[<section>]`` bytes (RFC 3501 section 6.4.5), byte-exact slices of the raw message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from maa.mail.headers import header_fields
from maa.mail.mime import MessageParts

SectionText = Literal["HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"]


@dataclass(frozen=True, slots=True)
class SectionSpec:
    """A section: ``part`` numbers (``(1, 2)`` is ``1.2``; ``()`` the whole message), then
    the optional text specifier and, for HEADER.FIELDS[.NOT], the field names."""

    part: tuple[int, ...] = ()
    text: SectionText | None = None
    fields: tuple[str, ...] = ()


def section(raw: bytes, parts: MessageParts, spec: SectionSpec) -> bytes:
    """The bytes of ``BODY[spec]`` (the caller applies any ``<offset.length>``).

    ``BODY[]`` is the message; ``BODY[n]`` a part's body (``1`` of a single-part message is
    its body); ``MIME`` a part's header block; HEADER, TEXT and HEADER.FIELDS apply to the
    message, or after a part number to that message/rfc822 part's embedded message (any other
    part: empty). A part number the tree does not have gives ``b""``, as Dovecot answers.
    """
    target = parts.root
    if spec.part:
        found = parts.find(spec.part)
        if found is None:
            return b""
        if spec.text is None:
            return raw[found.body_start : found.body_end]
        if spec.text == "MIME":
            return raw[found.header_start : found.body_start]
        if found.message is None:  # HEADER and TEXT after a number need message/rfc822
            return b""
        target = found.message
    elif spec.text is None:
        return raw
    elif spec.text == "MIME":  # not valid without a part number; the parser rejects it
        return b""
    if spec.text == "TEXT":
        return raw[target.body_start : target.body_end]
    header = raw[target.header_start : target.body_start]
    if spec.text == "HEADER":
        return header
    return header_fields(header, spec.fields, exclude=spec.text == "HEADER.FIELDS.NOT")
