"""Postfix ``header_checks`` in its regexp(5) table form (course §9)::

    # comment
    /^Subject:.*viagra/     REJECT spam is not welcome
    /^X-Mailer: Foo/i       WARN
    !/^Date:/               DUNNO

Each logical header (folded lines joined) is matched against the rules in order; the first match
decides. As in Postfix, matching is case-insensitive unless the ``i`` flag is given, which
toggles it; ``m`` and ``x`` are Python's MULTILINE and VERBOSE. ``!/re/`` matches when ``re``
does not. Actions: WARN (log), REJECT (refuse at end of data with 550 5.7.1), DISCARD (accept,
then drop), IGNORE (remove the header), HOLD (put the message in the hold queue), DUNNO/OK
(stop looking, do nothing). Python's ``re`` stands in for PCRE/POSIX syntax: the common subset
(anchors, classes, alternation, repetition) reads the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Action = Literal["WARN", "REJECT", "DISCARD", "IGNORE", "HOLD", "DUNNO"]
ACTIONS: dict[str, Action] = {
    "WARN": "WARN",
    "REJECT": "REJECT",
    "DISCARD": "DISCARD",
    "IGNORE": "IGNORE",
    "HOLD": "HOLD",
    "DUNNO": "DUNNO",
    "OK": "DUNNO",
}
FLAG_BITS = {"m": re.MULTILINE, "x": re.VERBOSE, "s": re.DOTALL}


class HeaderChecksError(ValueError):
    def __init__(self, path: str, lineno: int, message: str) -> None:
        super().__init__(f"{path}:{lineno}: {message}")


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    negated: bool
    action: Action
    text: str
    source: str  # the line as written, for logs

    def matches(self, header: str) -> bool:
        return (self.pattern.search(header) is None) == self.negated


@dataclass(frozen=True)
class Verdict:
    action: Action
    text: str
    rule: Rule


def parse_rule(line: str, *, path: str = "<header_checks>", lineno: int = 0) -> Rule:
    s = line.strip()
    negated = s.startswith("!")
    if negated:
        s = s[1:]
    if len(s) < 2 or s[0] != "/":
        raise HeaderChecksError(path, lineno, "expected /regex/ ACTION")
    # The closing delimiter is the first unescaped "/" after the opening one.
    i = 1
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        if s[i] == "/":
            break
        i += 1
    else:
        raise HeaderChecksError(path, lineno, "missing closing /")
    body, rest = s[1:i], s[i + 1 :]
    split = re.match(r"([A-Za-z]*)\s+(\S.*)$", rest)
    if split is None:
        raise HeaderChecksError(path, lineno, "expected an ACTION after the /regex/")
    flag_part, result = split.group(1), split.group(2)
    flags = re.IGNORECASE
    for ch in flag_part:
        if ch == "i":
            flags ^= re.IGNORECASE
        elif ch in FLAG_BITS:
            flags |= FLAG_BITS[ch]
        else:
            raise HeaderChecksError(path, lineno, f"unknown flag {ch!r}")
    word, _, text = result.partition(" ")
    action = ACTIONS.get(word.upper())
    if action is None:
        raise HeaderChecksError(path, lineno, f"unsupported action {word!r}")
    try:
        pattern = re.compile(body.replace("\\/", "/"), flags)
    except re.error as e:
        raise HeaderChecksError(path, lineno, f"bad regex: {e}") from e
    return Rule(pattern, negated, action, text.strip(), line.strip())


@dataclass(frozen=True)
class HeaderChecks:
    rules: tuple[Rule, ...] = ()

    @classmethod
    def parse(cls, text: str, *, path: str = "<header_checks>") -> HeaderChecks:
        rules: list[Rule] = []
        logical: list[tuple[int, str]] = []
        for lineno, raw in enumerate(text.splitlines(), 1):
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            if raw[0] in " \t" and logical:  # continuation of the previous rule
                n, prev = logical[-1]
                logical[-1] = (n, f"{prev} {raw.strip()}")
            else:
                logical.append((lineno, raw))
        for lineno, line in logical:
            rules.append(parse_rule(line, path=path, lineno=lineno))
        return cls(tuple(rules))

    @classmethod
    def load(cls, path: str | Path | None) -> HeaderChecks:
        if path is None:
            return cls()
        return cls.parse(Path(path).read_text(encoding="utf-8"), path=str(path))

    def check(self, header: str) -> Verdict | None:
        """The first rule matching ``header`` (``Name: value``, unfolded), if any."""
        for rule in self.rules:
            if rule.matches(header):
                return Verdict(rule.action, rule.text, rule)
        return None
