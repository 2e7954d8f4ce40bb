"""maa's ENVELOPE, BODY, BODYSTRUCTURE and sections against Dovecot 2.3's for the corpus.

The expected values in dovecot_expected.json were produced by Debian's Dovecot 2.3.19
(``doveadm fetch`` and IMAP FETCH) with regen_dovecot_expected.py and are committed.
"""

from __future__ import annotations

import pytest

from maa.mail import MessageParts, bodystructure, envelope, header_block, section

from .corpus import CORPUS, SECTIONS
from .dovecot_compare import EXPECTED, expected_bytes, spec_of

NAMES = sorted(CORPUS)


@pytest.mark.parametrize("name", NAMES)
def test_envelope_matches_dovecot(name: str) -> None:
    raw = CORPUS[name]
    assert envelope(header_block(raw)) == expected_bytes(EXPECTED[name]["envelope"])


@pytest.mark.parametrize("name", NAMES)
def test_bodystructure_matches_dovecot(name: str) -> None:
    parts = MessageParts.parse(CORPUS[name])
    assert bodystructure(parts) == expected_bytes(EXPECTED[name]["bodystructure"])


@pytest.mark.parametrize("name", NAMES)
def test_body_matches_dovecot(name: str) -> None:
    parts = MessageParts.parse(CORPUS[name])
    assert bodystructure(parts, extensible=False) == expected_bytes(EXPECTED[name]["body"])


@pytest.mark.parametrize("name", NAMES)
def test_sections_match_dovecot(name: str) -> None:
    raw = CORPUS[name]
    parts = MessageParts.parse(raw)
    answers = EXPECTED[name]["sections"]
    expected = {
        spec: expected_bytes(answers[spec]) for spec in SECTIONS if answers[spec] is not None
    }
    assert expected, "Dovecot answered no section"
    got = {spec: section(raw, parts, spec_of(spec)) for spec in expected}
    assert got == expected
