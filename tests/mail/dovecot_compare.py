"""Helpers to compare maa's output with the committed Dovecot answers."""

from __future__ import annotations

import json
import re
from pathlib import Path

from maa.mail import SectionSpec

EXPECTED = json.loads(Path(__file__).with_name("dovecot_expected.json").read_text())

_SECTION = re.compile(
    r"^((?:\d+\.)*\d+)?\.?(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME)?"
    r"(?: \((.*)\))?$"
)


def spec_of(section: str) -> SectionSpec:
    """Parse the small section syntax used in corpus.SECTIONS."""
    match = _SECTION.match(section)
    assert match is not None, section
    numbers, text, fields = match.groups()
    part = tuple(int(n) for n in numbers.split(".")) if numbers else ()
    return SectionSpec(part, text, tuple(fields.split()) if fields else ())  # type: ignore[arg-type]


def expected_bytes(value: str) -> bytes:
    return value.encode("latin-1")
