"""Regenerate ``dovecot_expected.json``: what Dovecot answers for every message in ``corpus``.

Run by hand (as root, with Debian's dovecot-core and dovecot-imapd installed):
    python -m tests.mail.regen_dovecot_expected
It starts a private Dovecot (``dovecot_server``), APPENDs the corpus, takes
ENVELOPE/BODY/BODYSTRUCTURE from ``doveadm fetch``, every section in ``corpus.SECTIONS``
and THREAD results over IMAP, then stops Dovecot. Byte strings are stored as Latin-1 text
so that any byte survives JSON.
"""

from __future__ import annotations

import imaplib
import json
from pathlib import Path

from .corpus import CORPUS, SECTIONS, THREAD_CORPUS
from .dovecot_server import private_dovecot, section, unavailable_reason

OUT = Path(__file__).with_name("dovecot_expected.json")


def _latin1(data: bytes | None) -> str | None:
    return None if data is None else data.decode("latin-1")


def _thread(client: imaplib.IMAP4, algorithm: str) -> str:
    status, data = client.thread(algorithm, "UTF-8", "ALL")
    assert status == "OK", data
    first = data[0]
    return first.decode() if isinstance(first, bytes) else ""


def main() -> None:
    reason = unavailable_reason()
    if reason is not None:
        raise SystemExit(reason)
    expected: dict[str, object] = {}
    with private_dovecot() as dovecot:
        client = dovecot.client()
        names = list(CORPUS)
        for name in names:
            client.append("INBOX", None, None, CORPUS[name])
        client.select("INBOX")
        structures = dovecot.fetch_structures()
        for uid, name in enumerate(names, start=1):
            entry: dict[str, object] = {
                key: _latin1(value) for key, value in structures[uid].items()
            }
            entry["sections"] = {s: _latin1(section(client, uid, s)) for s in SECTIONS}
            expected[name] = entry
        client.create("threads")
        for raw in THREAD_CORPUS:
            client.append("threads", None, None, raw)
        client.select("threads")
        algorithms = ("REFERENCES", "ORDEREDSUBJECT")
        expected["__threads__"] = {name: _thread(client, name) for name in algorithms}
        client.logout()
    OUT.write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({len(expected) - 1} messages)")


if __name__ == "__main__":
    main()
