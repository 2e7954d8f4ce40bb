from __future__ import annotations

import twisted.mail.imap4  # noqa: F401  (the reference imap4-utf-7 codec)
from hypothesis import given
from hypothesis import strategies as st

from maa.proto.imap import mutf7, response


def test_string_forms() -> None:
    assert response.string(b"abc") == b'"abc"'
    assert response.string(b'a"b\\') == b'"a\\"b\\\\"'
    assert response.string(b"a\r\nb") == b"{4}\r\na\r\nb"
    assert response.nstring(None) == b"NIL"
    assert response.astring(b"INBOX") == b"INBOX"
    assert response.astring(b"my box") == b'"my box"'


def test_mailbox_names() -> None:
    assert response.encode_mailbox("Entwürfe") == b"Entw&APw-rfe"
    assert response.decode_mailbox(b"Entw&APw-rfe") == "Entwürfe"
    assert response.decode_mailbox(b"inbox") == "INBOX"
    assert response.encode_mailbox("A&B") == b"A&-B"


@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=40))
def test_mutf7_matches_twisted_and_round_trips(name: str) -> None:
    encoded = mutf7.encode(name)
    assert mutf7.decode(encoded) == name
    # Twisted's codec turns ASCII control characters into "&-" (that is "&"); folder names
    # never hold them, so compare only on the rest.
    if not any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        assert encoded == name.encode("imap4-utf-7")
