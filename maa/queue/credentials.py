"""Which credentials to AUTH with at which next hop (Postfix's ``smtp_sasl_password_maps``).

``[submission] relayhost_user``/``relayhost_password`` are for the ``relayhost`` only, and
``[submission] relayhost_credentials`` names a file of lines like::

    [smtp.provider.example]:587   user@provider.example:secret
    neighbour.example             relayuser:secret

keyed by the next hop as written in ``relayhost`` or the transport table, or by its host name.
A password is never offered to a host that was not named for it (an arbitrary MX would
otherwise receive the relay account's password).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from maa.queue.transport import NextHop


class CredentialsError(ValueError):
    pass


@dataclass(frozen=True)
class Credentials:
    entries: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, *, path: str = "<credentials>") -> Credentials:
        entries: dict[str, tuple[str, str]] = {}
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 1)
            user, colon, password = parts[1].partition(":") if len(parts) == 2 else ("", "", "")
            if not colon or not user:
                raise CredentialsError(f"{path}:{lineno}: expected 'nexthop  user:password'")
            entries[parts[0].lower()] = (user, password)
        return cls(entries)

    @classmethod
    def load(cls, path: str | Path | None) -> Credentials:
        if path is None:
            return cls()
        return cls.parse(Path(path).read_text(encoding="utf-8"), path=str(path))

    def lookup(self, nexthop: NextHop) -> tuple[str, str] | None:
        for key in (
            str(nexthop),
            f"[{nexthop.host}]:{nexthop.port}" if not nexthop.mx_lookup else "",
            f"[{nexthop.host}]" if not nexthop.mx_lookup else "",
            nexthop.host,
        ):
            if key and key.lower() in self.entries:
                return self.entries[key.lower()]
        return None


def credentials_for(
    nexthop: NextHop,
    *,
    relayhost: NextHop | None,
    relay_login: tuple[str, str] | None,
    table: Credentials,
) -> tuple[str, str] | None:
    found = table.lookup(nexthop)
    if found is not None:
        return found
    if relayhost is not None and nexthop == relayhost:
        return relay_login
    return None
