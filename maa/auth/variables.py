"""Dovecot's ``%`` variables in mail locations and home directories.

``%u`` (user), ``%n`` (username), ``%d`` (domain), ``%h`` (home), their long forms
``%{user}`` ``%{username}`` ``%{domain}`` ``%{home}``, ``%%``, and the ``L`` (lower-case) and
``U`` (upper-case) modifiers of Dovecot 2.3 (``%Ld``, ``%L{domain}``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

SHORT_NAMES = {"u": "user", "n": "username", "d": "domain", "h": "home"}
KNOWN_NAMES = frozenset(SHORT_NAMES.values())
_MODIFIERS = {"L": str.lower, "U": str.upper}


class VariableError(ValueError):
    pass


# A template compiled once: literal text, or (variable name, modifiers) to look up.
_Part = str | tuple[str, tuple[Callable[[str], str], ...]]


@functools.lru_cache(maxsize=64)
def _compile(template: str) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    literal: list[str] = []
    i = 0
    n = len(template)
    while i < n:
        ch = template[i]
        if ch != "%":
            j = template.find("%", i)
            j = n if j < 0 else j
            literal.append(template[i:j])
            i = j
            continue
        i += 1
        modifiers = []
        while i < n and template[i] in _MODIFIERS:
            modifiers.append(_MODIFIERS[template[i]])
            i += 1
        if i >= n:
            raise VariableError(f"{template!r}: '%' at the end")
        ch = template[i]
        if ch == "%" and not modifiers:
            literal.append("%")
            i += 1
            continue
        if ch == "{":
            end = template.find("}", i)
            if end < 0:
                raise VariableError(f"{template!r}: unterminated %{{")
            name = template[i + 1 : end]
            i = end + 1
        else:
            name = SHORT_NAMES.get(ch, "")
            if not name:
                raise VariableError(f"{template!r}: unknown variable %{ch}")
            i += 1
        if name not in KNOWN_NAMES:
            raise VariableError(f"{template!r}: unknown variable %{{{name}}}")
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append((name, tuple(modifiers)))
    if literal:
        parts.append("".join(literal))
    return tuple(parts)


def expand(template: str, values: Mapping[str, str]) -> str:
    """``template`` with every variable replaced from ``values`` (keyed by long name).

    Raises VariableError for an unknown variable or a trailing ``%``.
    """
    if "%" not in template:
        return template
    out: list[str] = []
    for part in _compile(template):
        if isinstance(part, str):
            out.append(part)
            continue
        name, modifiers = part
        value = values.get(name)
        if value is None:
            raise VariableError(f"{template!r}: %{{{name}}} has no value here")
        for modify in modifiers:
            value = modify(value)
        out.append(value)
    return "".join(out)


def fixed_prefix(template: str) -> str:
    """The part of ``template`` before its first variable (``%%`` counts as literal)."""
    out: list[str] = []
    i = 0
    while i < len(template):
        if template[i] == "%":
            if template[i + 1 : i + 2] == "%":
                out.append("%")
                i += 2
                continue
            break
        out.append(template[i])
        i += 1
    return "".join(out)
