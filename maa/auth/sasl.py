"""Sans-I/O SASL server exchanges shared by IMAP, POP3 and SMTP: PLAIN (RFC 4616) and LOGIN.

Each protocol wraps challenges in its own syntax (``+ `` for IMAP and POP3, ``334 `` for
SMTP); this module speaks only base64 text in and out. A client line of ``*`` cancels.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

SASL_MECHANISMS = ("PLAIN", "LOGIN")

# RFC 4616 allows 255 octets for each of authzid, authcid and passwd.
MAX_FIELD = 255


class SaslError(Exception):
    """The client sent something that is not a valid response: reply with a protocol error."""


class SaslCancelled(SaslError):
    """The client sent ``*``."""


@dataclass(frozen=True)
class Challenge:
    b64: str


@dataclass(frozen=True)
class Credentials:
    authzid: str
    authcid: str
    password: str


def _decode(line: str) -> bytes:
    line = line.strip()
    if line == "*":
        raise SaslCancelled("authentication cancelled")
    if line == "=":  # RFC 4954 / 3501 SASL-IR: an empty initial response
        return b""
    try:
        return base64.b64decode(line.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as e:
        raise SaslError("invalid base64 data") from e


def _text(raw: bytes) -> str:
    if len(raw) > MAX_FIELD:
        raise SaslError("field too long")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SaslError("invalid UTF-8") from e


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("ascii")).decode("ascii")


def parse_plain(raw: bytes) -> Credentials:
    parts = raw.split(b"\0")
    if len(parts) != 3:
        raise SaslError("PLAIN wants authzid NUL authcid NUL passwd")
    authzid, authcid, password = (_text(p) for p in parts)
    if not authcid:
        raise SaslError("empty user name")
    return Credentials(authzid, authcid, password)


class SaslServer:
    """One exchange. ``start`` then ``step`` until ``Credentials`` come out."""

    def __init__(self, mechanism: str) -> None:
        self.mechanism = mechanism
        self._user: str | None = None

    @classmethod
    def start(
        cls, mechanism: str, initial_response: str | None = None
    ) -> tuple[SaslServer, Challenge | Credentials]:
        mech = mechanism.upper()
        if mech not in SASL_MECHANISMS:
            raise SaslError(f"unsupported mechanism {mechanism}")
        server = cls(mech)
        if initial_response is None:
            if mech == "PLAIN":
                return server, Challenge("")
            return server, Challenge(_b64("Username:"))
        return server, server.step(initial_response)

    def step(self, line: str) -> Challenge | Credentials:
        raw = _decode(line)
        if self.mechanism == "PLAIN":
            return parse_plain(raw)
        if self._user is None:
            user = _text(raw)
            if not user:
                raise SaslError("empty user name")
            self._user = user
            return Challenge(_b64("Password:"))
        return Credentials("", self._user, _text(raw))
