"""Aliases for hosted domains, in either of the two formats Postfix admins already keep.

virtual(5) style, one entry per line, key and targets separated by whitespace::

    info@example.test        alice@example.test, bob@example.test
    @lists.example.test      listmaster@example.test      (catch-all for a domain)

aliases(5) style, key ending in a colon (course §5.1)::

    postmaster:   root
    root:         bob
    admins:       bob, alice

A line whose first word ends with ``:`` is aliases(5) style. An aliases(5) key names a local part
in every hosted domain (``admins`` matches ``admins@example.test``), and a bare target is taken
in the domain of the address being expanded. Lines starting with whitespace continue the previous
entry; ``#`` starts a comment line. Expansion is recursive with loop detection: an address met
again along its own expansion path is kept as a final recipient (Postfix's rule that
``bob@x  bob@x, archive@x`` delivers to bob too).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Postfix's virtual_alias_recursion_limit and virtual_alias_expansion_limit.
RECURSION_LIMIT = 100
EXPANSION_LIMIT = 1000

_SPLIT = re.compile(r"[,\s]+")
# "key: targets" (aliases(5)); a virtual(5) key never holds a colon.
_COLON_KEY = re.compile(r"^([^\s:]+):(.*)$")


class AliasError(ValueError):
    pass


def split_address(address: str) -> tuple[str, str]:
    local, at, domain = address.rpartition("@")
    if not at:
        return address, ""
    return local, domain.lower()


@dataclass(frozen=True)
class AliasTable:
    # Full "local@domain" keys (domain lower-cased; local part as written, compared
    # case-insensitively like Postfix does) and "@domain" catch-alls.
    addresses: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # aliases(5) keys: local parts valid in every hosted domain.
    locals: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, *, path: str = "<aliases>") -> AliasTable:
        entries: list[tuple[int, str]] = []
        for lineno, raw in enumerate(text.splitlines(), 1):
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            if raw[0] in " \t" and entries:
                n, prev = entries[-1]
                entries[-1] = (n, f"{prev} {raw.strip()}")
            else:
                entries.append((lineno, raw.strip()))
        addresses: dict[str, tuple[str, ...]] = {}
        locals_: dict[str, tuple[str, ...]] = {}
        for lineno, line in entries:
            colon = _COLON_KEY.match(line)
            if colon is not None:
                key, rest, colon_style = colon.group(1), colon.group(2), True
            else:
                key, _, rest = line.replace("\t", " ").partition(" ")
                colon_style = False
            targets = tuple(t.strip('"') for t in _SPLIT.split(rest.strip()) if t)
            if not key or not targets:
                raise AliasError(f"{path}:{lineno}: expected a key and at least one target")
            if colon_style:
                locals_[key.lower()] = targets
            else:
                local, domain = split_address(key)
                if not domain:
                    raise AliasError(f"{path}:{lineno}: {key!r}: a virtual key needs a @domain")
                addresses[f"{local.lower()}@{domain}"] = targets
        return cls(addresses, locals_)

    @classmethod
    def load(cls, path: str | Path | None) -> AliasTable:
        if path is None:
            return cls()
        return cls.parse(Path(path).read_text(encoding="utf-8"), path=str(path))

    def __bool__(self) -> bool:
        return bool(self.addresses or self.locals)

    def lookup(self, address: str, delimiter: str = "") -> tuple[str, ...] | None:
        """The targets of one address (not recursive), bare targets qualified with the
        address's domain; tries ``user+ext@d``, ``user@d``, ``@d``, then the aliases(5) key."""
        local, domain = split_address(address)
        candidates = [local.lower()]
        if delimiter and delimiter in local:
            candidates.append(local.split(delimiter, 1)[0].lower())
        found: tuple[str, ...] | None = None
        for cand in candidates:
            found = self.addresses.get(f"{cand}@{domain}")
            if found is not None:
                break
        if found is None and domain:
            found = self.addresses.get(f"@{domain}")
        if found is None:
            for cand in candidates:
                found = self.locals.get(cand)
                if found is not None:
                    break
        if found is None:
            return None
        if not domain:
            return found
        return tuple(t if "@" in t else f"{t}@{domain}" for t in found)

    def expand(
        self,
        address: str,
        *,
        is_hosted: Callable[[str], bool],
        delimiter: str = "",
    ) -> list[str]:
        """Every final address ``address`` expands to, in order and without duplicates.
        Only addresses in hosted domains (per ``is_hosted(domain)``) are looked up again;
        ``AliasError`` past the recursion or expansion limits."""
        result: list[str] = []
        seen_final: set[str] = set()
        # Aliases already expanded: met again through another branch (a diamond), their
        # targets are in the result already. Without this, expansion is exponential.
        expanded: set[str] = set()

        def walk(addr: str, path: tuple[str, ...]) -> None:
            if len(path) > RECURSION_LIMIT:
                raise AliasError(f"alias recursion limit exceeded at {addr}")
            key = addr.lower()
            if key in expanded and key not in path:
                return
            _, domain = split_address(addr)
            targets = None
            if key not in path and (not domain or is_hosted(domain)):
                targets = self.lookup(addr, delimiter)
            if targets is None:
                if key not in seen_final:
                    seen_final.add(key)
                    result.append(addr)
                    if len(result) > EXPANSION_LIMIT:
                        raise AliasError(f"alias expansion limit exceeded for {address}")
                return
            expanded.add(key)
            for target in targets:
                walk(target, (*path, key))

        walk(address, ())
        return result
