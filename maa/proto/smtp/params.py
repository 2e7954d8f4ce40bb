"""ESMTP parameters of MAIL and RCPT: which each dialect knows, and their values checked.

SIZE (RFC 1870), BODY (RFC 6152, RFC 3030's BINARYMIME), SMTPUTF8 (RFC 6531), DSN's RET,
ENVID, NOTIFY and ORCPT (RFC 3461), AUTH (RFC 4954). Values are passed on as given, except
BODY and RET which are upper-cased.
"""

from __future__ import annotations

from collections.abc import Mapping

from maa.proto.smtp.replies import S552_TOO_BIG, S553_NEEDS_SMTPUTF8, Reply

# A SIZE value has at most this many digits: bounded, so int() stays cheap.
MAX_SIZE_DIGITS = 15

BODY_TYPES = ("7BIT", "8BITMIME", "BINARYMIME")
# BODY types per dialect. Maildir and mbox keep LF line ends, so a lone LF or CR of binary
# content would not come back as sent: neither dialect offers BINARYMIME (nor do Dovecot's
# LMTP and Postfix's smtpd), and BODY=BINARYMIME is refused with 555 at MAIL.
BODY_TYPES_OF: dict[str, tuple[str, ...]] = {
    "LMTP": ("7BIT", "8BITMIME"),
    "SMTP": ("7BIT", "8BITMIME"),
}
NOTIFY_WORDS = frozenset({"NEVER", "SUCCESS", "FAILURE", "DELAY"})

# Parameters per dialect name ("LMTP"/"SMTP"): LMTP advertises no DSN or SMTPUTF8.
MAIL_PARAMS: dict[str, frozenset[str]] = {
    "LMTP": frozenset({"SIZE", "BODY"}),
    "SMTP": frozenset({"SIZE", "BODY", "SMTPUTF8", "RET", "ENVID", "AUTH"}),
}
RCPT_PARAMS: dict[str, frozenset[str]] = {
    "LMTP": frozenset(),
    "SMTP": frozenset({"NOTIFY", "ORCPT"}),
}


class ParamRefused(Exception):
    """``reply`` is the answer; ``protocol_error`` says whether it counts toward the error
    limit (a malformed parameter does; a message announced too big does not)."""

    def __init__(self, reply: Reply, *, protocol_error: bool = True) -> None:
        super().__init__(reply.text)
        self.reply = reply
        self.protocol_error = protocol_error


def _bad(text: str) -> ParamRefused:
    return ParamRefused(Reply(501, "5.5.4", text))


def _unknown(params: Mapping[str, str | None], allowed: frozenset[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ParamRefused(Reply(555, "5.5.4", f"Unsupported option: {unknown[0]}"))


def check_mail(
    address: str,
    params: Mapping[str, str | None],
    allowed: frozenset[str],
    max_size: int,
    body_types: tuple[str, ...] = BODY_TYPES,
) -> dict[str, str | None]:
    """The MAIL parameters, normalized, or ``ParamRefused``; ``body_types``: the BODY values
    the dialect offers."""
    _unknown(params, allowed)
    checked = dict(params)
    if "SIZE" in checked:
        size = checked["SIZE"]
        if size is None or not size.isdigit() or len(size) > MAX_SIZE_DIGITS:
            raise _bad("Bad SIZE parameter")
        if int(size) > max_size:
            raise ParamRefused(S552_TOO_BIG, protocol_error=False)
    if "BODY" in checked:
        body = (checked["BODY"] or "").upper()
        if body not in BODY_TYPES:
            raise _bad("Bad BODY parameter")
        if body not in body_types:
            raise ParamRefused(Reply(555, "5.5.4", f"Unsupported BODY type {body}"))
        checked["BODY"] = body
    if "SMTPUTF8" in checked and checked["SMTPUTF8"] is not None:
        raise _bad("SMTPUTF8 takes no value")
    if "RET" in checked:
        ret = (checked["RET"] or "").upper()
        if ret not in ("FULL", "HDRS"):
            raise _bad("Bad RET parameter")
        checked["RET"] = ret
    check_address(address, "SMTPUTF8" in checked)
    return checked


def check_rcpt(
    address: str, params: Mapping[str, str | None], allowed: frozenset[str], smtputf8: bool
) -> dict[str, str | None]:
    """The RCPT parameters, or ``ParamRefused``; ``smtputf8``: MAIL said SMTPUTF8."""
    _unknown(params, allowed)
    if "NOTIFY" in params:
        notify = params["NOTIFY"] or ""
        words = notify.upper().split(",")
        if not notify or not set(words) <= NOTIFY_WORDS or ("NEVER" in words and len(words) > 1):
            raise _bad("Bad NOTIFY parameter")
    check_address(address, smtputf8)
    return dict(params)


def check_address(address: str, smtputf8: bool) -> None:
    """RFC 6531 3.4: a non-ASCII address only in an SMTPUTF8 transaction."""
    if not smtputf8 and not address.isascii():
        raise ParamRefused(S553_NEEDS_SMTPUTF8, protocol_error=False)
