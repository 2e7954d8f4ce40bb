"""Modified UTF-7 for mailbox names (RFC 3501 5.1.3).

Twisted's ``imap4-utf-7`` codec does the same, but importing ``twisted.mail.imap4`` would pull
Twisted into the sans-I/O core; this is the whole algorithm in a few lines, and the tests check
it against Twisted's codec.
"""

from __future__ import annotations

import base64
import binascii


def encode(name: str) -> bytes:
    out = bytearray()
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            out.extend(b"&" + base64.b64encode(data).rstrip(b"=").replace(b"/", b",") + b"-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.extend(b"&-" if ch == "&" else ch.encode("ascii"))
        else:
            pending.append(ch)
    flush()
    return bytes(out)


def decode(raw: bytes) -> str:
    out: list[str] = []
    pos = 0
    while pos < len(raw):
        byte = raw[pos]
        if byte != ord("&"):
            if not 0x20 <= byte <= 0x7E:
                raise ValueError("8-bit character in modified UTF-7")
            out.append(chr(byte))
            pos += 1
            continue
        end = raw.find(b"-", pos)
        if end < 0:
            raise ValueError("unterminated modified UTF-7 shift")
        chunk = raw[pos + 1 : end]
        if not chunk:
            out.append("&")
        else:
            b64 = chunk.replace(b",", b"/")
            try:
                data = base64.b64decode(b64 + b"=" * (-len(b64) % 4), validate=True)
                out.append(data.decode("utf-16-be"))
            except (binascii.Error, UnicodeDecodeError) as e:
                raise ValueError("invalid modified UTF-7") from e
        pos = end + 1
    return "".join(out)
