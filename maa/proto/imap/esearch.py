"""Search result lines: ``* SEARCH`` (with RFC 7162's ``(MODSEQ n)``) and RFC 4731's
``* ESEARCH (TAG "a") UID MIN 1 MAX 9 COUNT 4 ALL 1:3,9``."""

from __future__ import annotations

from collections.abc import Sequence

from maa.proto.imap.response import string


def sequence_set(numbers: Sequence[int]) -> str:
    """Ascending numbers as a compact sequence set (``1:3,9``); ``""`` for none."""
    out: list[str] = []
    start = prev = -1
    for n in numbers:
        if n == prev + 1:
            prev = n
            continue
        if start >= 0:
            out.append(str(start) if start == prev else f"{start}:{prev}")
        start = prev = n
    if start >= 0:
        out.append(str(start) if start == prev else f"{start}:{prev}")
    return ",".join(out)


def search_line(found: Sequence[int], modseq: int | None = None) -> bytes:
    """``* SEARCH 2 5 6 (MODSEQ 917162500)``; the suffix only when there are results."""
    line = b"* SEARCH" + b"".join(b" %d" % n for n in found)
    if modseq is not None and found:
        line += b" (MODSEQ %d)" % modseq
    return line + b"\r\n"


def esearch_line(
    tag: str,
    *,
    uid: bool,
    options: Sequence[str],
    found: Sequence[int],
    modseqs: Sequence[int] | None = None,
) -> bytes:
    """The ESEARCH response for ``found`` (ascending), answering ``options``.

    ``modseqs`` (parallel to ``found``) is given when the search used the MODSEQ key: the
    MODSEQ datum is then the highest of the messages the response names (RFC 7162 3.1.5:
    only MIN's and MAX's when those are all that was asked for).
    """
    parts = [b"* ESEARCH (TAG " + string(tag.encode()) + b")"]
    if uid:
        parts.append(b"UID")
    if found:
        if "MIN" in options:
            parts.append(b"MIN %d" % found[0])
        if "MAX" in options:
            parts.append(b"MAX %d" % found[-1])
        if "ALL" in options:
            parts.append(b"ALL " + sequence_set(found).encode())
    if "COUNT" in options:
        parts.append(b"COUNT %d" % len(found))
    if modseqs is not None and found:
        if "ALL" in options or "COUNT" in options:
            highest = max(modseqs)
        else:
            named = [modseqs[0]] if "MIN" in options else []
            named += [modseqs[-1]] if "MAX" in options else []
            highest = max(named)
        parts.append(b"MODSEQ %d" % highest)
    return b" ".join(parts) + b"\r\n"
