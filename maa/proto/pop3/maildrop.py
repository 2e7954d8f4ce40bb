"""One session's view of the maildrop: the message list fixed at login, the numbers the client
uses for it, and the DELE marks that only QUIT turns into deletions (RFC 1939 section 5)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Entry:
    uid: int
    size: int  # octets of the CRLF form: what LIST says and RETR sends before dot-stuffing


def uidl(uid: int, uidvalidity: int) -> str:
    """Dovecot's default ``pop3_uidl_format = %08Xu%08Xv``, so that a client moved from a
    Dovecot server holding the same Maildir does not fetch every message again. Dovecot's
    ``%X`` modifier prints hexadecimal in lower case (Dovecot 2.3.19 answers UIDL with
    ``000000016b0493b3``), and clients compare UIDLs byte for byte, so lower case it is."""
    return f"{uid:08x}{uidvalidity:08x}"


class NoSuchMessage(Exception):
    """``str(self)`` is the ``-ERR`` text."""


class MaildropView:
    def __init__(self, entries: Sequence[Entry], uidvalidity: int) -> None:
        self._entries = tuple(entries)
        self.uidvalidity = uidvalidity
        self._deleted: set[int] = set()  # message numbers, 1-based
        self.initial_count = len(self._entries)
        self.initial_size = sum(e.size for e in self._entries)

    def entry(self, number: int) -> Entry:
        """The message a client's number names; ``NoSuchMessage`` for a number out of range
        or marked deleted."""
        if not 1 <= number <= len(self._entries):
            raise NoSuchMessage(f"There's no message {number}.")
        if number in self._deleted:
            raise NoSuchMessage("Message is deleted.")
        return self._entries[number - 1]

    def uidl(self, number: int) -> str:
        return uidl(self.entry(number).uid, self.uidvalidity)

    def live(self) -> Iterator[tuple[int, Entry]]:
        """(number, entry) of every message not marked deleted."""
        for index, entry in enumerate(self._entries, 1):
            if index not in self._deleted:
                yield index, entry

    def stat(self) -> tuple[int, int]:
        count = size = 0
        for _, entry in self.live():
            count += 1
            size += entry.size
        return count, size

    def delete(self, number: int) -> None:
        self.entry(number)
        self._deleted.add(number)

    def reset(self) -> None:
        self._deleted.clear()

    def deleted_uids(self) -> list[int]:
        return [self._entries[n - 1].uid for n in sorted(self._deleted)]

    def deleted_count(self) -> int:
        return len(self._deleted)
