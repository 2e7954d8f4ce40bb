"""Flag-set arithmetic shared by the drivers."""

from __future__ import annotations

from collections.abc import Iterable

from maa.storage.interface import SYSTEM_FLAGS, FlagMode, StorageError

# RFC 3501 flag-keyword atoms: no specials, no controls, no spaces. A backslash starts only a
# system flag. Checking here keeps a keyword from ever breaking a line-based file.
_ATOM_SPECIALS = frozenset('(){ %*"]\\')


class InvalidFlag(StorageError):
    pass


def check_flags(flags: Iterable[str]) -> frozenset[str]:
    result = set()
    for flag in flags:
        if flag.lower() == "\\recent":
            continue  # session state, never stored (RFC 3501 2.3.2)
        if flag.startswith("\\"):
            canonical = next((f for f in SYSTEM_FLAGS if f.lower() == flag.lower()), None)
            if canonical is None:
                raise InvalidFlag(f"unknown system flag {flag!r}")
            result.add(canonical)
            continue
        if not flag or any(
            ch in _ATOM_SPECIALS or ord(ch) <= 0x20 or ord(ch) >= 0x7F for ch in flag
        ):
            raise InvalidFlag(f"not a flag keyword: {flag!r}")
        result.add(flag)
    return frozenset(result)


def apply_flags(current: frozenset[str], flags: frozenset[str], mode: FlagMode) -> frozenset[str]:
    if mode == "set":
        return flags
    if mode == "add":
        return current | flags
    return current - flags
