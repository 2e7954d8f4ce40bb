"""The Content-* fields of one MIME part, parsed for BODYSTRUCTURE (RFC 2045, 2183, 3066).

Values are bytes exactly as the header has them (case kept). Parameters come as Dovecot's
rfc2231 parser gives them: plain ones in header order, then the RFC 2231 ones (``name*``,
``name*0``, ``name*1*``...) sorted by name, continuations joined, values still encoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from maa.mail.headers import field_value, iter_fields
from maa.mail.rfc822 import MIME_SPECIALS, Token, tokenize

Params = tuple[tuple[bytes, bytes], ...]

_CONTINUATION = re.compile(rb"^(.*?)\*([0-9]+)(\*?)$")


@dataclass(frozen=True, slots=True)
class ContentFields:
    """What a part's header says about its content; None where the field is absent."""

    type: bytes | None = None  # None: no Content-Type, the context's default applies
    subtype: bytes | None = None  # None: the Content-Type had no "/"
    params: Params = ()
    encoding: bytes | None = None
    id: bytes | None = None
    description: bytes | None = None
    md5: bytes | None = None
    disposition: bytes | None = None
    disposition_params: Params = ()
    language: tuple[bytes, ...] | None = None
    location: bytes | None = None

    def param(self, name: bytes) -> bytes | None:
        """A Content-Type parameter by (case-insensitive) name."""
        lowered = name.lower()
        for key, value in self.params:
            if key.lower() == lowered:
                return value
        return None


def _params(tokens: list[Token], i: int) -> Params:
    plain: list[tuple[bytes, bytes]] = []
    continued: dict[bytes, list[tuple[int, bool, bytes]]] = {}
    n = len(tokens)
    while i < n:
        if not (tokens[i].kind == "special" and tokens[i].value == b";"):
            break
        if i + 3 >= n:  # a trailing ";" or a cut-off parameter
            break
        name, equals, value = tokens[i + 1], tokens[i + 2], tokens[i + 3]
        if not (
            name.kind == "atom"
            and equals.kind == "special"
            and equals.value == b"="
            and value.kind in ("atom", "quoted")
        ):
            break  # Dovecot stops at the first malformed parameter
        key = name.value
        match = _CONTINUATION.match(key)
        if match is not None:  # "name*0", "name*1*"
            piece = (int(match.group(2)), bool(match.group(3)), value.value)
            continued.setdefault(match.group(1), []).append(piece)
        elif key.endswith(b"*"):  # "name*": extended, in one piece
            continued.setdefault(key[:-1], []).append((0, True, value.value))
        else:
            plain.append((key, value.value))
        i += 4
    for base in sorted(continued):
        pieces = sorted(continued[base], key=lambda piece: piece[0])
        extended = pieces[0][1]
        plain.append((base + b"*" if extended else base, b"".join(p[2] for p in pieces)))
    return tuple(plain)


def _content_type(value: bytes) -> tuple[bytes, bytes | None, Params]:
    """(type, subtype, params). A broken value keeps what Dovecot keeps: ``text`` alone gives
    (b"text", None), ``text; charset=x`` and an empty value (b"", None), ``text/`` (b"text",
    b""); parameters only follow a complete type/subtype."""
    tokens, _ = tokenize(value, MIME_SPECIALS)
    if not tokens or tokens[0].kind != "atom":
        return b"", None, ()
    if len(tokens) == 1:  # "text" and nothing more: the type is kept
        return tokens[0].value, None, ()
    if tokens[1].kind != "special" or tokens[1].value != b"/":  # "text; x=y": nothing is
        return b"", None, ()
    if len(tokens) < 3 or tokens[2].kind != "atom":
        return tokens[0].value, b"", ()
    return tokens[0].value, tokens[2].value, _params(tokens, 3)


def _disposition(value: bytes) -> tuple[bytes | None, Params]:
    tokens, _ = tokenize(value, MIME_SPECIALS)
    if not tokens or tokens[0].kind != "atom":
        return None, ()
    return tokens[0].value, _params(tokens, 1)


def _token(value: bytes) -> bytes | None:
    """The value if it is exactly one token (comments aside), else None."""
    tokens, _ = tokenize(value, MIME_SPECIALS)
    return tokens[0].value if len(tokens) == 1 and tokens[0].kind == "atom" else None


def _language(value: bytes) -> tuple[bytes, ...] | None:
    tokens, _ = tokenize(value, MIME_SPECIALS)
    tags = tuple(token.value for token in tokens if token.kind == "atom")
    return tags or None


def parse_content_fields(raw_headers: bytes) -> ContentFields:
    """The Content-* fields of a part header block (the first of each field counts)."""
    found: dict[bytes, bytes] = {}
    for name, field in iter_fields(raw_headers):
        if name.startswith(b"content-") and name not in found:
            found[name] = field_value(field)
    if not found:
        return ContentFields()
    ctype: bytes | None = None
    subtype: bytes | None = None
    params: Params = ()
    if b"content-type" in found:
        ctype, subtype, params = _content_type(found[b"content-type"])
    disposition: bytes | None = None
    disposition_params: Params = ()
    if b"content-disposition" in found:
        disposition, disposition_params = _disposition(found[b"content-disposition"])
    encoding = found.get(b"content-transfer-encoding")
    return ContentFields(
        type=ctype,
        subtype=subtype,
        params=params,
        encoding=None if encoding is None else _token(encoding),
        id=found.get(b"content-id"),
        description=found.get(b"content-description"),
        md5=found.get(b"content-md5"),
        disposition=disposition,
        disposition_params=disposition_params,
        language=_language(found[b"content-language"]) if b"content-language" in found else None,
        location=found.get(b"content-location"),
    )
