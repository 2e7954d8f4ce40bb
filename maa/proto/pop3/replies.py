"""The text of every POP3 reply the core sends, with RFC 2449/3206 response codes, and the
formatting of single- and multi-line replies."""

from __future__ import annotations

from collections.abc import Iterable

# RFC 3206 response codes (RFC 2449 RESP-CODES, AUTH-RESP-CODE).
IN_USE = "[IN-USE]"
AUTH = "[AUTH]"
SYS_TEMP = "[SYS/TEMP]"
SYS_PERM = "[SYS/PERM]"

GREETING = "maa ready."
LOGGED_IN = "Logged in."
AUTH_FAILED = f"{AUTH} Authentication failed."
MAILBOX_LOCKED = f"{IN_USE} Mailbox is locked by another POP3 session"
MAILDROP_UNAVAILABLE = f"{SYS_TEMP} Mailbox could not be opened, try again later."
PLAINTEXT_DISALLOWED = f"{AUTH} Plaintext authentication disallowed on non-secure connections"
UNSUPPORTED_MECHANISM = f"{AUTH} Unsupported authentication mechanism."
AUTHZID_REFUSED = f"{AUTH} Logging in as another user is not permitted."
AUTH_ABORTED = "Authentication aborted by client."
NO_USER = "No username given."
BEGIN_TLS = "Begin TLS negotiation now."
TLS_ACTIVE = "TLS is already active."
TLS_UNAVAILABLE = "TLS support isn't enabled."
LINE_TOO_LONG = "Line too long."
TOO_MANY_BAD = "Too many bad commands."
IDLE_TIMEOUT = "Disconnected for inactivity."
DELETED = "Message is deleted."
MARKED = "Marked to be deleted."
LOGGING_OUT = "Logging out."
LOGGING_OUT_DELETED = "Logging out, messages deleted."
NOT_ALL_DELETED = f"{SYS_TEMP} Some deleted messages were not removed."
MESSAGE_GONE = f"{SYS_PERM} Message was removed by another session."
READ_FAILED = f"{SYS_TEMP} Message could not be read, try again later."
CAPABILITY_LIST = "Capability list follows"


def no_such_message(number: int) -> str:
    return f"There's no message {number}."


def ok(text: str = "") -> bytes:
    return f"+OK {text}\r\n".encode() if text else b"+OK\r\n"


def err(text: str) -> bytes:
    return f"-ERR {text}\r\n".encode()


def continuation(b64: str) -> bytes:
    """An RFC 5034 server challenge."""
    return f"+ {b64}\r\n".encode("ascii")


def multiline(first: str, lines: Iterable[str]) -> bytes:
    """``+OK first``, the lines (none of which starts with ``.``), and the closing dot."""
    body = "".join(f"{line}\r\n" for line in lines)
    return ok(first) + f"{body}.\r\n".encode()
