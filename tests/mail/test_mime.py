"""The part tree: navigation by section number, offsets, and bounded work on hostile input."""

from __future__ import annotations

from maa.mail import MessageParts, SectionSpec, bodystructure, section
from maa.mail.mime import MAX_NESTING, MAX_PARTS

from .corpus import MIXED, RFC822_ATTACHMENT, SIMPLE, TOP_RFC822, crlf
from .imapsyntax import parse


def _body(raw: bytes, *path: int) -> bytes:
    return section(raw, MessageParts.parse(raw), SectionSpec(tuple(path)))


def test_single_part_message_is_its_own_part_one() -> None:
    parts = MessageParts.parse(SIMPLE)
    assert parts.find((1,)) is parts.root
    assert parts.find((2,)) is None
    assert parts.find((1, 1)) is None
    assert _body(SIMPLE, 1) == b"body\r\n"


def test_numbers_continue_inside_message_rfc822() -> None:
    assert _body(RFC822_ATTACHMENT, 2, 1) == b"plain version\r\ntwo lines"
    assert _body(RFC822_ATTACHMENT, 2, 2) == b"<p>html version</p>"
    assert _body(TOP_RFC822, 1, 1) == b"inner body\r\n"
    spec = SectionSpec((2,), "HEADER.FIELDS", ("subject",))
    parts = MessageParts.parse(RFC822_ATTACHMENT)
    assert section(RFC822_ATTACHMENT, parts, spec) == b"Subject: the original\r\n\r\n"


def test_header_and_text_after_a_number_need_message_rfc822() -> None:
    parts = MessageParts.parse(MIXED)
    assert section(MIXED, parts, SectionSpec((2,), "HEADER")) == b""
    assert section(MIXED, parts, SectionSpec((2,), "TEXT")) == b""
    assert section(MIXED, parts, SectionSpec((2,), "MIME")).startswith(b"Content-Type: app")


def test_part_numbers_beyond_the_tree_are_empty() -> None:
    for path in [(0,), (3,), (1, 3), (2, 2), (1, 1, 2), (99, 99)]:
        assert _body(MIXED, *path) == b"", path


def test_one_below_a_single_part_is_that_part_as_in_dovecot() -> None:
    assert _body(MIXED, 1, 1, 1) == _body(MIXED, 1, 1)


def test_offsets_lie_within_the_message_and_nest() -> None:
    parts = MessageParts.parse(MIXED)
    for part in parts.walk():
        assert 0 <= part.header_start <= part.body_start <= part.body_end <= len(MIXED)
        for child in part.children:
            assert part.body_start <= child.header_start <= child.body_end <= part.body_end


def _nested_multiparts(levels: int) -> bytes:
    head = "".join(
        f"Content-Type: multipart/mixed; boundary=b{i}x\n\n--b{i}x\n" for i in range(levels)
    )
    tail = "".join(f"\n--b{i}x--" for i in reversed(range(levels)))
    return crlf("Subject: deep\n" + head + "Content-Type: text/plain\n\ninnermost" + tail + "\n")


def test_deeply_nested_multiparts_are_bounded() -> None:
    raw = _nested_multiparts(MAX_NESTING * 20)
    parts = MessageParts.parse(raw)
    depth, part = 0, parts.root
    while part.children:
        part = part.children[0]
        depth += 1
    assert depth <= MAX_NESTING
    assert not part.multipart  # the rest is one opaque part
    parse(bodystructure(parts))  # no recursion error, well-formed output


def test_deeply_nested_rfc822_messages_are_bounded() -> None:
    levels = MAX_NESTING * 20
    raw = crlf("Content-Type: message/rfc822\n\n" * levels + "Subject: bottom\n\nbody\n")
    parts = MessageParts.parse(raw)
    depth, part = 0, parts.root
    while part.message is not None:
        part = part.message
        depth += 1
    assert depth <= MAX_NESTING
    parse(bodystructure(parts))


def test_a_flood_of_parts_is_bounded() -> None:
    count = MAX_PARTS + 500
    raw = crlf("Content-Type: multipart/mixed; boundary=f\n\n" + "--f\n\nx\n" * count + "--f--\n")
    parts = MessageParts.parse(raw)
    assert len(list(parts.walk())) <= MAX_PARTS
    assert _body(raw, 1) == b"x"


def test_many_header_only_parts_do_not_rescan_the_message() -> None:
    # Parts with no blank line: finding each header's end must not search the whole rest of
    # the message (that was quadratic). Completing at all is the regression check.
    count = 5000
    raw = crlf("Content-Type: multipart/mixed; boundary=h\n\n" + "--h\nX-A: b\n" * count)
    parts = MessageParts.parse(raw)
    assert len(parts.root.children) == count
    assert section(raw, parts, SectionSpec((count,), "MIME")) == b"X-A: b\r\n"


def test_boundary_prefix_of_another_takes_the_longest_match() -> None:
    raw = crlf(
        "Content-Type: multipart/mixed; boundary=ab\n\n"
        "--ab\n"
        "Content-Type: multipart/mixed; boundary=abc\n\n"
        "--abc\n\ninner\n"
        "--abc--\n"
        "--ab\n\nsecond\n"
        "--ab--\n"
    )
    assert _body(raw, 1, 1) == b"inner"
    assert _body(raw, 2) == b"second"


def test_crlf_before_a_boundary_belongs_to_the_boundary() -> None:
    raw = crlf("Content-Type: multipart/mixed; boundary=z\n\n--z\n\nline\n\n--z--\n")
    assert _body(raw, 1) == b"line\r\n"
