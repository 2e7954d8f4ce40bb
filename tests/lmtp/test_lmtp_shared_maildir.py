"""Two ``maa serve`` processes take LMTP for the same Maildirs at once, as two hosts sharing
the mail storage would: every acknowledged message is there once, under a UID nobody else got."""

from __future__ import annotations

import smtplib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import support

from maa.storage import INBOX
from maa.storage.maildir import MaildirStore
from maa.storage.maildir.uidlist import load

CLIENTS_PER_SERVER = 4
MESSAGES_PER_CLIENT = 15


def message(tag: str) -> bytes:
    return b"Subject: %s\r\nMessage-ID: <%s@shared>\r\n\r\nbody of %s\r\n" % ((tag.encode(),) * 3)


def send_all(port: int, tags: list[str]) -> list[tuple[str, int, int]]:
    """Each tag to alice and bob in one transaction; (tag, alice's code, bob's code)."""
    results = []
    client = smtplib.LMTP("127.0.0.1", port, timeout=60)
    try:
        client.ehlo("shared.test")
        for tag in tags:
            client.mail("s@example.test")
            client.rcpt("alice@example.test")
            client.rcpt("bob@example.test")
            first, _ = client.data(message(tag))
            second, _ = client.getreply()
            results.append((tag, first, second))
        client.quit()
    finally:
        client.close()
    return results


@pytest.mark.slow
def test_two_servers_deliver_into_one_maildir_without_sharing_a_uid(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    mail = {"location": f"maildir:{shared}/%d/%n"}
    with (
        support.running_server(tmp_path / "one", mail=mail) as one,
        support.running_server(tmp_path / "two", mail=mail) as two,
    ):
        jobs = [
            (server.ports["lmtp"], [f"s{s}c{c}m{m}" for m in range(MESSAGES_PER_CLIENT)])
            for s, server in enumerate((one, two))
            for c in range(CLIENTS_PER_SERVER)
        ]
        with ThreadPoolExecutor(len(jobs)) as pool:
            done = [r for batch in pool.map(lambda job: send_all(*job), jobs) for r in batch]
    total = 2 * CLIENTS_PER_SERVER * MESSAGES_PER_CLIENT
    assert len(done) == total
    assert all(first == second == 250 for _, first, second in done), done

    for user in ("alice", "bob"):
        root = shared / "example.test" / user
        uidlist = load(root / "dovecot-uidlist")
        assert uidlist is not None
        assert len(uidlist.records) == total  # one record per message, no UID handed out twice
        assert len(set(uidlist.records.values())) == total
        inbox = MaildirStore(root).folder(INBOX)
        infos = inbox.messages()
        assert sorted(m.uid for m in infos) == list(range(1, total + 1))
        subjects = sorted(
            inbox.read(m.uid).split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0].decode() for m in infos
        )
        assert subjects == sorted(tag for tag, _, _ in done)
