"""Integration tier: maa against a live private Dovecot on generated broken messages.

The committed-fixture tests (test_dovecot_parity.py) pin hand-written cases; this one
feeds a fresh Dovecot a seeded batch of messages nobody wrote by hand and requires every
ENVELOPE, BODY, BODYSTRUCTURE and section to be byte-identical.
"""

from __future__ import annotations

import pytest

from maa.mail import (
    MessageParts,
    ThreadMessage,
    bodystructure,
    envelope,
    first_header,
    format_threads,
    header_block,
    header_date,
    message_id,
    references,
    section,
    thread_orderedsubject,
    thread_references,
)

from .dovecot_compare import spec_of
from .dovecot_server import private_dovecot, unavailable_reason
from .dovecot_server import section as dovecot_section
from .mailgen import generate, generate_thread_messages

pytestmark = pytest.mark.integration

SEED = 20261123
COUNT = 80
SECTIONS = ("", "HEADER", "TEXT", "1", "1.MIME", "2", "2.1", "1.1.MIME", "HEADER.FIELDS (From)")


def test_generated_messages_match_dovecot() -> None:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    messages = generate(SEED, COUNT)
    mismatches: list[str] = []
    with private_dovecot() as dovecot:
        client = dovecot.client()
        for raw in messages:
            client.append("INBOX", None, None, raw)
        client.select("INBOX")
        structures = dovecot.fetch_structures()
        for uid, raw in enumerate(messages, start=1):
            parts = MessageParts.parse(raw)
            ours = {
                "envelope": envelope(header_block(raw)),
                "body": bodystructure(parts, extensible=False),
                "bodystructure": bodystructure(parts),
            }
            for key, value in ours.items():
                if value != structures[uid][key]:
                    mismatches.append(f"message {uid} {key}: {value!r} != {structures[uid][key]!r}")
            for spec in SECTIONS:
                theirs = dovecot_section(client, uid, spec)
                if theirs is not None and section(raw, parts, spec_of(spec)) != theirs:
                    mismatches.append(f"message {uid} BODY[{spec}] differs")
        client.logout()
    assert mismatches == []


def test_generated_threads_match_dovecot() -> None:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    messages = generate_thread_messages(SEED, 100)
    ours: list[ThreadMessage] = []
    for number, raw in enumerate(messages, start=1):
        headers = header_block(raw)
        date = header_date(headers)
        assert date is not None
        subject = first_header(headers, "subject") or ""
        refs = tuple(references(headers))
        ours.append(ThreadMessage(number, message_id(headers), refs, subject, date))
    with private_dovecot() as dovecot:
        client = dovecot.client()
        client.create("threads")
        for raw in messages:
            client.append("threads", None, None, raw)
        client.select("threads")
        for algorithm, thread in (
            ("REFERENCES", thread_references),
            ("ORDEREDSUBJECT", thread_orderedsubject),
        ):
            status, data = client.thread(algorithm, "UTF-8", "ALL")
            assert status == "OK"
            assert format_threads(thread(ours)) == data[0], algorithm
        client.logout()
