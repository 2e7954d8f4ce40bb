"""``dovecot-uidlist``: the file that gives every Maildir message its permanent UID.

Version 3 (what Dovecot 2.x writes)::

    3 V1700000000 N42 G3085f01b7f11094c501100008c4a11c1
    1 :1700000000.M1P2.host,S=100,W=102
    2 W2345 :1700000001.M3P4.host,S=2300

The header holds UIDVALIDITY, the next UID and the folder GUID; each record a UID, optional
extension fields and, after ``:``, the base file name (the name without its ``:2,`` info).
New records are appended to the file (as Dovecot does), so a delivery costs one short write,
not a rewrite of a list that grows with the folder; the header's N may then lag, and the next
UID is the larger of N and the last record's UID plus one. Expunges rewrite the file through a
temp file and a rename. Every change happens under ``dovecot-uidlist.lock``.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from maa.storage.maildir.durable import write_atomic

FILENAME = "dovecot-uidlist"


class UidlistError(Exception):
    pass


@dataclass
class Uidlist:
    uidvalidity: int
    next_uid: int = 1
    guid: str = field(default_factory=lambda: uuid.uuid4().hex)
    extra_header: list[str] = field(default_factory=list)
    records: dict[int, str] = field(default_factory=dict)  # uid -> base, ascending
    extensions: dict[int, str] = field(default_factory=dict)  # uid -> "W123 ..." kept as is
    by_base: dict[str, int] = field(default_factory=dict)
    # True when the file ended in a torn record: the next change rewrites it whole.
    needs_rewrite: bool = False

    @classmethod
    def new(cls) -> Uidlist:
        return cls(uidvalidity=int(time.time()))

    def add(self, base: str) -> int:
        uid = self.by_base.get(base)
        if uid is not None:
            return uid
        uid = self.next_uid
        self.next_uid += 1
        self.records[uid] = base
        self.by_base[base] = uid
        return uid

    def remove(self, uids: set[int]) -> None:
        for uid in uids:
            base = self.records.pop(uid, None)
            if base is not None:
                self.by_base.pop(base, None)
            self.extensions.pop(uid, None)

    def header(self) -> str:
        fields = [f"V{self.uidvalidity}", f"N{self.next_uid}", f"G{self.guid}"]
        return " ".join(["3", *fields, *self.extra_header]) + "\n"

    def record(self, uid: int) -> str:
        ext = self.extensions.get(uid)
        middle = f" {ext}" if ext else ""
        return f"{uid}{middle} :{self.records[uid]}\n"

    def serialize(self) -> bytes:
        lines = [self.header(), *(self.record(uid) for uid in self.records)]
        return "".join(lines).encode("utf-8", "surrogateescape")


def parse(data: bytes) -> Uidlist:
    text = data.decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    torn = not text.endswith("\n")
    if torn:
        lines = lines[:-1]  # a record cut short by a crash: ignored and rewritten
    elif lines:
        lines = lines[:-1]
    if not lines:
        raise UidlistError("empty dovecot-uidlist")
    result = _parse_header(lines[0])
    result.needs_rewrite = torn
    version3 = lines[0].startswith("3 ")
    last = 0
    for line in lines[1:]:
        if not line:
            continue
        uid, ext, base = _parse_record(line, version3)
        if uid <= last:
            raise UidlistError(f"UIDs out of order in dovecot-uidlist at {uid}")
        last = uid
        result.records[uid] = base
        result.by_base[base] = uid
        if ext:
            result.extensions[uid] = ext
    result.next_uid = max(result.next_uid, last + 1)
    return result


def _parse_header(line: str) -> Uidlist:
    parts = line.split()
    if not parts:
        raise UidlistError("empty dovecot-uidlist header")
    if parts[0] == "1" and len(parts) >= 3:
        return Uidlist(uidvalidity=int(parts[1]), next_uid=int(parts[2]))
    if parts[0] != "3":
        raise UidlistError(f"unsupported dovecot-uidlist version {parts[0]!r}")
    result = Uidlist(uidvalidity=0, guid="")
    for part in parts[1:]:
        key, value = part[:1], part[1:]
        if key == "V" and value.isdigit():
            result.uidvalidity = int(value)
        elif key == "N" and value.isdigit():
            result.next_uid = int(value)
        elif key == "G":
            result.guid = value
        else:
            result.extra_header.append(part)
    if not result.uidvalidity:
        raise UidlistError("dovecot-uidlist header lacks UIDVALIDITY")
    result.guid = result.guid or uuid.uuid4().hex
    return result


def _parse_record(line: str, version3: bool) -> tuple[int, str, str]:
    if version3:
        head, sep, base = line.partition(" :")
        if not sep:
            raise UidlistError(f"bad dovecot-uidlist record {line!r}")
        uid_text, _, ext = head.partition(" ")
    else:
        uid_text, _, base = line.partition(" ")
        ext = ""
    if not uid_text.isdigit() or not base:
        raise UidlistError(f"bad dovecot-uidlist record {line!r}")
    return int(uid_text), ext.strip(), base


def load(path: Path) -> Uidlist | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return parse(data)


def rewrite(path: Path, uidlist: Uidlist, owner: tuple[int, int] | None) -> None:
    write_atomic(path, uidlist.serialize(), owner)
    uidlist.needs_rewrite = False


def append(
    path: Path,
    uidlist: Uidlist,
    uids: list[int],
    owner: tuple[int, int] | None,
    *,
    durable: bool = True,
) -> None:
    """Append the records of ``uids`` (already added to ``uidlist``); fsync unless the caller
    will (``durable=False``, then make it durable, e.g. ``durable.sync_file_data``, before
    relying on it)."""
    if uidlist.needs_rewrite or not path.exists():
        rewrite(path, uidlist, owner)
        return
    data = "".join(uidlist.record(uid) for uid in uids).encode("utf-8", "surrogateescape")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def create(path: Path, owner: tuple[int, int] | None) -> Uidlist:
    uidlist = Uidlist.new()
    rewrite(path, uidlist, owner)
    return uidlist
