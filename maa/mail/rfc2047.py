"""RFC 2047 encoded-words and header text decoding, lossy and never raising.

Hand-written instead of ``email.header.decode_header`` because that returns a mix of str and
bytes chunks with pseudo-charsets and raises on some malformed words; searching and sorting
only need the best-effort text.
"""

from __future__ import annotations

import binascii
import codecs
import re

_ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(rb"\?=[ \t\r\n]+=\?")
_FOLD = re.compile(r"\r?\n[ \t]?")


def charset_codec(charset: str | bytes | None) -> str:
    """A Python codec name for a MIME charset; UTF-8 for unknown ones and US-ASCII."""
    if isinstance(charset, bytes):
        charset = charset.decode("ascii", "replace")
    if not charset:
        return "utf-8"
    name = charset.split("*", 1)[0].strip().lower()  # RFC 2231 language suffix
    if name in ("us-ascii", "ascii", "unknown-8bit", "x-unknown"):
        return "utf-8"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "utf-8"


def decode_bytes(data: bytes, charset: str | bytes | None) -> str:
    """Bytes in a MIME charset as text; undecodable bytes become U+FFFD."""
    return data.decode(charset_codec(charset), "replace")


def _b64(data: bytes) -> bytes:
    data = data + b"=" * (-len(data) % 4)
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        return b""


def _word(match: re.Match[bytes]) -> bytes:
    charset, kind, text = match.group(1), match.group(2), match.group(3)
    payload = binascii.a2b_qp(text, header=True) if kind in b"Qq" else _b64(text)
    return b"\x00" + decode_bytes(payload, charset).encode("utf-8", "surrogatepass") + b"\x00"


def raw_text(value: bytes) -> str:
    """Header bytes as text without RFC 2047 decoding: UTF-8, else Latin-1."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def decode_header_value(value: bytes) -> str:
    """A header value with encoded-words decoded and line folding removed.

    White space between two adjacent encoded-words is dropped (RFC 2047 section 6.2); 8-bit
    bytes outside encoded-words are read as UTF-8, or Latin-1 when they are not UTF-8.
    """
    if b"=?" not in value:
        text = raw_text(value)
        return _FOLD.sub(" ", text) if "\n" in text else text
    value = _BETWEEN_WORDS.sub(b"?==?", value.replace(b"\x00", "\ufffd".encode()))
    pieces = _ENCODED_WORD.sub(_word, value).split(b"\x00")
    # Even pieces are raw header text, odd pieces decoded words (already UTF-8).
    out = [
        piece.decode("utf-8", "replace") if index % 2 else raw_text(piece)
        for index, piece in enumerate(pieces)
    ]
    return _FOLD.sub(" ", "".join(out))
