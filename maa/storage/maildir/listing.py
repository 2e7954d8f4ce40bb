"""What new/ and cur/ held, by name, as the index knows it: a rescan lists the directories
again and does index work only for the names that differ from this.

Every change this process makes to the directories (a rename for flags, new/ to cur/, an
unlink, a delivery) is recorded here as it is made, so a rescan after our own STORE finds
nothing to do but compare two sets of names; a change by another process (Dovecot, another
maa) shows as a difference and is read from the files as before.
"""

from __future__ import annotations

from maa.storage.maildir.filename import INFO_SEPARATOR

SUBDIRS = ("new", "cur")

Entry = tuple[str, str | None]  # (subdir, info)


def _split(subdir: str, name: str) -> tuple[str, Entry]:
    base, sep, info = name.partition(INFO_SEPARATOR)
    return base, (subdir, info if sep else None)


class Listing:
    """The names in new/ and cur/, and each message's (subdir, info) by base name. Names
    starting with a dot (editor and NFS leftovers) are kept in ``names``, never in ``bases``."""

    def __init__(self, names: dict[str, set[str]]) -> None:
        self.names = {subdir: set(names[subdir]) for subdir in SUBDIRS}
        self.bases: dict[str, Entry] = {}
        for subdir in SUBDIRS:  # cur/ last: a base in both is taken as the cur/ one
            for name in self.names[subdir]:
                if not name.startswith("."):
                    base, entry = _split(subdir, name)
                    self.bases[base] = entry

    def add(self, subdir: str, name: str) -> None:
        self.names[subdir].add(name)
        if not name.startswith("."):
            base, entry = _split(subdir, name)
            self.bases[base] = entry

    def discard(self, subdir: str, name: str) -> None:
        self.names[subdir].discard(name)
        base, entry = _split(subdir, name)
        if self.bases.get(base) == entry:
            del self.bases[base]

    def renamed(self, old: tuple[str, str], new: tuple[str, str]) -> None:
        """Our own rename of ``old`` (subdir, name) to ``new``."""
        self.discard(*old)
        self.add(*new)

    def reinfo(self, subdir: str, old_name: str, new_name: str, base: str, info: str) -> None:
        """``renamed`` for our own flag change of message ``base`` within ``subdir``, its
        names and new info known (no splitting of either name)."""
        names = self.names[subdir]
        names.discard(old_name)
        names.add(new_name)
        self.bases[base] = (subdir, info)

    def update(self, fresh: dict[str, set[str]]) -> set[str]:
        """Take ``fresh`` as the directories' contents; return the base names whose file
        appeared, went or changed its name. Unchanged names cost a set comparison only."""
        affected: set[str] = set()
        for subdir in SUBDIRS:
            old, new = self.names[subdir], fresh[subdir]
            if old is new or old == new:  # (set equality walks every name, even of itself)
                continue
            for name in old ^ new:
                if name in old:
                    self.discard(subdir, name)
                else:
                    self.add(subdir, name)
                if not name.startswith("."):
                    affected.add(_split(subdir, name)[0])
        return affected
