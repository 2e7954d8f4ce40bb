"""SMTP/LMTP replies: a code, an RFC 3463 enhanced status code and text, and the ones the
engine sends itself, named like aiosmtpd's ``statuscodes``.

Glue code builds its own decisions with ``Reply(250, "2.1.5", "Ok")``; a reply whose code is
2xx is a success for the engine's bookkeeping (sender set, recipient accepted, logged in).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    status: str  # enhanced status code ("2.0.0"); "" for replies that carry none (220, 221)
    text: str | tuple[str, ...]

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300

    @property
    def lines(self) -> tuple[str, ...]:
        return (self.text,) if isinstance(self.text, str) else self.text

    def to_bytes(self, enhanced: bool = True) -> bytes:
        """The wire form; multi-line replies use ``250-`` continuation lines (RFC 5321 4.2).
        CR and LF inside the text are replaced so a reply can never split into two."""
        text = self.text
        if isinstance(text, str) and "\r" not in text and "\n" not in text:
            prefix = f"{self.status} " if enhanced and self.status else ""
            return f"{self.code} {prefix}{text}\r\n".encode("utf-8", "replace")
        lines = self.lines or ("",)
        out: list[str] = []
        for i, line in enumerate(lines):
            sep = " " if i == len(lines) - 1 else "-"
            clean = line.replace("\r", " ").replace("\n", " ")
            prefix = f"{self.status} " if enhanced and self.status else ""
            out.append(f"{self.code}{sep}{prefix}{clean}\r\n")
        return "".join(out).encode("utf-8", "replace")


def ok(status: str = "2.0.0", text: str = "Ok") -> Reply:
    return Reply(250, status, text)


S250_OK = Reply(250, "2.0.0", "Ok")
S250_SENDER_OK = Reply(250, "2.1.0", "Ok")
S250_RCPT_OK = Reply(250, "2.1.5", "Ok")
S250_RESET = Reply(250, "2.0.0", "Ok")
S252_VRFY = Reply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery")
S221_BYE = Reply(221, "2.0.0", "Bye")
S220_TLS_GO = Reply(220, "2.0.0", "Ready to start TLS")
S235_AUTH_OK = Reply(235, "2.7.0", "Authentication successful")
S354_DATA = Reply(354, "", "End data with <CR><LF>.<CR><LF>")

S421_TOO_MANY_ERRORS = Reply(421, "4.7.0", "Too many errors, closing connection")
S451_LOCAL_ERROR = Reply(451, "4.3.0", "Temporary internal failure")
S452_TOO_MANY_RCPTS = Reply(452, "4.5.3", "Error: too many recipients")
S454_TLS_UNAVAILABLE = Reply(454, "4.7.0", "TLS not available due to temporary reason")

S500_UNKNOWN = Reply(500, "5.5.1", "Unknown command")
S500_LINE_TOO_LONG = Reply(500, "5.5.2", "Line too long")
S500_BAD_UTF8 = Reply(500, "5.5.2", "Invalid UTF-8 in command")
S501_SYNTAX = Reply(501, "5.5.4", "Syntax error in parameters or arguments")
S501_AUTH_CANCELLED = Reply(501, "5.0.0", "Authentication cancelled")
S501_AUTH_SYNTAX = Reply(501, "5.5.2", "Invalid authentication response")
S503_HELO_FIRST = Reply(503, "5.5.1", "Error: send HELO/EHLO first")
S503_LHLO_FIRST = Reply(503, "5.5.1", "Error: send LHLO first")
S503_MAIL_FIRST = Reply(503, "5.5.1", "Error: need MAIL command")
S503_NESTED_MAIL = Reply(503, "5.5.1", "Error: nested MAIL command")
S503_RCPT_FIRST = Reply(503, "5.5.1", "Error: need RCPT command")
S554_NO_RCPTS = Reply(554, "5.5.1", "Error: no valid recipients")
S503_NO_RCPTS = Reply(503, "5.5.1", "Error: no valid recipients")
S503_BAD_SEQUENCE = Reply(503, "5.5.1", "Error: bad sequence of commands")
S503_ALREADY_AUTH = Reply(503, "5.5.1", "Error: already authenticated")
S503_AUTH_IN_MAIL = Reply(503, "5.5.1", "Error: MAIL transaction in progress")
S503_AUTH_DISABLED = Reply(503, "5.5.1", "Error: authentication not enabled")
S502_NOT_IMPLEMENTED = Reply(502, "5.5.1", "Command not implemented")
S504_AUTH_MECH = Reply(504, "5.5.4", "Unrecognized authentication type")
S538_ENCRYPTION = Reply(538, "5.7.11", "Encryption required for requested authentication mechanism")
S552_TOO_BIG = Reply(552, "5.3.4", "Message size exceeds fixed maximum message size")
S553_NEEDS_SMTPUTF8 = Reply(553, "5.6.7", "Non-ASCII address requires SMTPUTF8")
S555_UNSUPPORTED_PARAM = Reply(555, "5.5.4", "Unsupported option")
