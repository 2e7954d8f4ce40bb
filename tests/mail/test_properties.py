"""Property tests: no input makes the parser raise, offsets stay inside the message, the
wire output is always well-formed, and well-formed MIME trees are read back exactly."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maa.mail import (
    MessageParts,
    SectionSpec,
    addresses,
    base_subject,
    bodystructure,
    decoded_header,
    display_name,
    envelope,
    first_header,
    header_block,
    header_date,
    header_fields,
    message_id,
    references,
    search_text,
    section,
    sort_address,
)

from .imapsyntax import parse

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Bytes that look like mail: header-ish lines, boundaries, encoded words, 8-bit and NUL.
_PIECES = st.sampled_from(
    [
        b"\r\n",
        b"\n",
        b": ",
        b"--",
        b"--b",
        b"--b--",
        b"From: ",
        b"To: a@b, g: c@d;",
        b"Subject: ",
        b"Content-Type: multipart/mixed; boundary=b",
        b"Content-Type: message/rfc822",
        b"Content-Type: text/plain; charset=utf-8",
        b"Content-Transfer-Encoding: base64",
        b"Content-Transfer-Encoding: quoted-printable",
        b"=?utf-8?q?x=C3?=",
        b"=?utf-8?b?w6k?=",
        b'"q\\"',
        b"<a@b>",
        b"(c)",
        b"\t",
        b" ",
        b"\x00",
        b"\xff\xc3",
        b"=E9=",
    ]
)
MAILISH = st.lists(_PIECES | st.binary(max_size=8), max_size=60).map(b"".join)
ANY_BYTES = st.one_of(st.binary(max_size=400), MAILISH)


def _check_everything(raw: bytes) -> None:
    parts = MessageParts.parse(raw)
    assert section(raw, parts, SectionSpec()) == raw
    for part in parts.walk():
        assert 0 <= part.header_start <= part.body_start <= part.body_end <= len(raw)
    parse(bodystructure(parts))
    parse(bodystructure(parts, extensible=False))
    headers = header_block(raw)
    envelope_value = parse(envelope(headers))
    assert isinstance(envelope_value, list) and len(envelope_value) == 10
    for spec in (
        SectionSpec(text="HEADER"),
        SectionSpec(text="TEXT"),
        SectionSpec((1,)),
        SectionSpec((1,), "MIME"),
        SectionSpec((1, 1)),
        SectionSpec((2,), "HEADER"),
        SectionSpec((1,), "HEADER.FIELDS", ("subject",)),
        SectionSpec(text="HEADER.FIELDS.NOT", fields=("from",)),
    ):
        assert isinstance(section(raw, parts, spec), bytes)
    header_fields(headers, ["subject", "from"])
    search_text(raw, parts)
    for name in ("subject", "from", "to"):
        decoded_header(headers, name)
        addresses(headers, name)
        first_header(headers, name)
    header_date(headers)
    message_id(headers)
    references(headers)
    sort_address(headers, "from")
    display_name(headers, "to")
    base_subject((first_header(headers, "subject") or "") + " (fwd)")


@FAST
@given(ANY_BYTES)
def test_no_input_makes_any_api_raise(raw: bytes) -> None:
    _check_everything(raw)


@FAST
@given(st.text(max_size=80))
def test_base_subject_never_raises_and_is_idempotent(subject: str) -> None:
    once = base_subject(subject)
    assert base_subject(once) == once


@FAST
@given(st.binary(max_size=120).filter(lambda b: b"\n" not in b and b"\r" not in b))
def test_any_subject_reads_back_from_the_envelope(subject: bytes) -> None:
    value = parse(envelope(b"Subject: " + subject + b"\r\n\r\n"))
    assert isinstance(value, list)
    written = value[1]
    assert isinstance(written, bytes)
    # Dovecot's for-humans form: white space squeezed and trimmed, NUL read as U+FFFD.
    expected = subject.replace(b"\x00", "\ufffd".encode()).replace(b"\t", b" ")
    assert written == b" ".join(w for w in expected.split(b" ") if w)


# --- generated MIME trees -------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    body: bytes


@dataclass(frozen=True)
class Multi:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Embedded:
    inner: Node


Node = Leaf | Multi | Embedded

_BODY_LINE = st.text(alphabet="abc xyz=.:<>", max_size=12).map(str.encode)
_BODY = st.lists(_BODY_LINE, max_size=4).map(b"\r\n".join)
TREES = st.recursive(
    _BODY.map(Leaf),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4).map(lambda c: Multi(tuple(c))),
        inner.map(Embedded),
    ),
    max_leaves=12,
)


class _Renderer:
    def __init__(self) -> None:
        self.count = 0

    def entity(self, node: Node, extra: bytes = b"") -> bytes:
        if isinstance(node, Leaf):
            return extra + b"Content-Type: text/plain\r\n\r\n" + node.body
        if isinstance(node, Embedded):
            message = self.entity(node.inner, b"Subject: inner\r\n")
            return extra + b"Content-Type: message/rfc822\r\n\r\n" + message
        self.count += 1
        boundary = b"=_b%dx" % self.count
        out = [extra + b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n']
        out.append(b"preamble\r\n")
        for child in node.children:
            out += [b"--", boundary, b"\r\n", self.entity(child), b"\r\n"]
        out += [b"--", boundary, b"--\r\nepilogue"]
        return b"".join(out)


def _same_shape(raw: bytes, node: Node, part: object) -> None:
    from maa.mail import MimePart

    assert isinstance(part, MimePart)
    if isinstance(node, Leaf):
        assert not part.multipart and part.message is None
        assert raw[part.body_start : part.body_end] == node.body
    elif isinstance(node, Embedded):
        assert part.message is not None
        _same_shape(raw, node.inner, part.message)
    else:
        assert part.multipart
        assert len(part.children) == len(node.children)
        for child_node, child in zip(node.children, part.children, strict=True):
            _same_shape(raw, child_node, child)


@FAST
@given(TREES)
def test_generated_trees_are_read_back_exactly(tree: Node) -> None:
    raw = _Renderer().entity(tree, b"MIME-Version: 1.0\r\n")
    parts = MessageParts.parse(raw)
    _same_shape(raw, tree, parts.root)
    _check_everything(raw)


@FAST
@given(TREES, st.data())
def test_damaged_trees_never_break_the_parser(tree: Node, data: st.DataObject) -> None:
    raw = _Renderer().entity(tree, b"MIME-Version: 1.0\r\n")
    cut = data.draw(st.integers(0, len(raw)))
    drop = data.draw(st.integers(0, len(raw)))
    damaged = raw[:cut] + raw[cut + data.draw(st.integers(0, 40)) :]
    _check_everything(damaged)
    _check_everything(raw[:drop])
