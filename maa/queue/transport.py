"""Where non-local mail goes: next-hop syntax and the transport(5) table (course §5.2, §5.6).

Next hops use Postfix's syntax: ``[host]:port`` or ``[host]`` means that host, no MX lookup;
``host:port`` or ``host`` means the MX records of ``host`` (falling back to its address).

Transport table lines::

    monvoisin.fr        smtp:[172.16.96.100]:25
    .monvoisin.fr       smtp:[172.16.96.100]:25     (any subdomain)
    example.org         relay:mx.example.org
    old.example         error:5.1.2 this domain is gone
    *                   smtp:[smarthost]:587        (everything else)

``smtp`` and ``relay`` are the same transport here; ``error:TEXT`` bounces at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SMTP_PORT = 25


class TransportError(ValueError):
    pass


@dataclass(frozen=True)
class NextHop:
    host: str
    port: int = SMTP_PORT
    # False for "[host]": connect to that host itself, no MX lookup.
    mx_lookup: bool = True

    def __str__(self) -> str:
        host = f"[{self.host}]" if not self.mx_lookup else self.host
        return f"{host}:{self.port}" if self.port != SMTP_PORT else host


@dataclass(frozen=True)
class Route:
    """``kind`` is ``smtp`` (with ``nexthop``, or None for the recipient domain's MX) or
    ``error`` (bounce with ``text``)."""

    kind: str
    nexthop: NextHop | None = None
    text: str = ""


def parse_nexthop(value: str) -> NextHop:
    value = value.strip()
    m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", value)
    if m:
        return NextHop(m.group(1), int(m.group(2) or SMTP_PORT), mx_lookup=False)
    m = re.fullmatch(r"([A-Za-z0-9.\-_]+)(?::(\d+))?", value)
    if m:
        return NextHop(m.group(1).lower(), int(m.group(2) or SMTP_PORT), mx_lookup=True)
    raise TransportError(f"bad next hop {value!r}")


def parse_route(value: str) -> Route:
    kind, _, rest = value.strip().partition(":")
    kind = kind.lower()
    if kind in ("smtp", "relay"):
        return Route("smtp", parse_nexthop(rest) if rest else None)
    if kind == "error":
        return Route("error", None, rest.strip() or "5.0.0 mail for this destination is refused")
    raise TransportError(f"unsupported transport {kind!r} (smtp, relay, error)")


@dataclass(frozen=True)
class TransportTable:
    entries: dict[str, Route] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, *, path: str = "<transport>") -> TransportTable:
        entries: dict[str, Route] = {}
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 1)
            if len(parts) != 2:
                raise TransportError(f"{path}:{lineno}: expected 'domain  transport:nexthop'")
            try:
                entries[parts[0].lower()] = parse_route(parts[1])
            except TransportError as e:
                raise TransportError(f"{path}:{lineno}: {e}") from e
        return cls(entries)

    @classmethod
    def load(cls, path: str | Path | None) -> TransportTable:
        if path is None:
            return cls()
        return cls.parse(Path(path).read_text(encoding="utf-8"), path=str(path))

    def lookup(self, address: str) -> Route | None:
        """The route for a recipient: the full address, its domain, each parent ``.domain``,
        then ``*``."""
        address = address.lower()
        route = self.entries.get(address)
        if route is not None:
            return route
        domain = address.rpartition("@")[2]
        route = self.entries.get(domain)
        if route is not None:
            return route
        labels = domain.split(".")
        for i in range(1, len(labels)):
            route = self.entries.get("." + ".".join(labels[i:]))
            if route is not None:
                return route
        return self.entries.get("*")
