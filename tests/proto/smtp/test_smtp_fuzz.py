"""Property tests: no input crashes the engine or the parsers, and DATA decoding does not
depend on how the bytes are split."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from smtp_transcript import Session

from maa.proto.smtp import Dialect, commands
from maa.proto.smtp.commands import CommandError, parse_command, parse_path
from maa.proto.smtp.data import DotDecoder

VERBS = [b"LHLO", b"EHLO", b"HELO", b"MAIL FROM:", b"RCPT TO:", b"DATA", b"BDAT", b"RSET"]
VERBS += [b"NOOP", b"QUIT", b"VRFY", b"HELP", b"STARTTLS", b"AUTH PLAIN", b"AUTH LOGIN"]
pieces = st.one_of(
    st.sampled_from(VERBS),
    st.sampled_from([b"\r\n", b"\n", b"\r", b".", b"<", b">", b" ", b"=", b"<a@b.c>"]),
    st.binary(max_size=20),
    st.builds(lambda n: b"BDAT %d\r\n" % n, st.integers(0, 40)),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(pieces, max_size=12).map(b"".join), max_size=8), st.booleans())
def test_random_input_never_crashes_the_engine(chunks: list[bytes], lmtp: bool) -> None:
    s = Session(
        Dialect.LMTP if lmtp else Dialect.SMTP,
        settings_extra={"auth": True, "plaintext_auth": True, "starttls": True},
    )
    for chunk in chunks:
        out = s.send(chunk)
        for line in out.split(b"\r\n")[:-1]:
            assert line[:3].isdigit() and line[3:4] in (b" ", b"-")
        if s.engine._awaiting_tls:
            s.engine.tls_started()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_command_parser_only_raises_command_errors(line: str) -> None:
    try:
        parse_command(line)
    except CommandError as e:
        assert 500 <= e.reply.code < 600


body_bytes = st.lists(
    st.sampled_from([b"a", b".", b"\r", b"\n", b"\r\n", b"..", b"\r\n."]), max_size=40
).map(b"".join)


@settings(max_examples=200, deadline=None)
@given(body_bytes, st.lists(st.integers(0, 200), max_size=5))
def test_dot_decoder_is_split_invariant(body: bytes, cuts: list[int]) -> None:
    data = body + b"\r\n.\r\nREST"
    whole = DotDecoder()
    expected, rest = whole.feed(data)
    assert rest is not None
    split = DotDecoder()
    got: list[bytes] = []
    positions = sorted({min(c, len(data)) for c in cuts})
    start, tail = 0, None
    for pos in [*positions, len(data)]:
        if tail is not None:
            tail += data[start:pos]
        else:
            out, tail = split.feed(data[start:pos])
            got += out
        start = pos
    assert b"".join(got) == b"".join(expected)
    assert tail == rest
    content = b"".join(expected)
    assert content.count(b"\n") == content.count(b"\r\n")  # every line end is CRLF


def reference_decode(data: bytes) -> tuple[bytes, bytes] | None:
    """DATA decoding spelled out line by line, as the module docstring of maa.proto.smtp.data
    states it: (content, bytes after the end marker), or None before the end."""
    out: list[bytes] = []
    after_crlf = True
    start = 0
    while (lf := data.find(b"\n", start)) >= 0:
        line = data[start : lf + 1]
        crlf = line.endswith(b"\r\n")
        if line == b".\r\n" and after_crlf:
            return b"".join(out), data[lf + 1 :]
        if line in (b".\r\n", b".\n"):
            out.append(b".\r\n")  # a lone dot that does not end the data is content
        else:
            if line.startswith(b"."):
                line = line[1:]
            out.append(line[: -2 if crlf else -1] + b"\r\n")
        after_crlf = crlf
        start = lf + 1
    return None


mail_bytes = st.lists(
    st.sampled_from(
        [b"text", b"a" * 70, b".", b"..", b"\r", b"\n", b"\r\n", b"\r\n.", b"\n.", b"\r\r\n"]
    ),
    max_size=60,
).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(mail_bytes, st.lists(st.integers(0, 400), max_size=6))
def test_dot_decoder_matches_the_line_by_line_reference(body: bytes, cuts: list[int]) -> None:
    data = body + b"\r\n.\r\nREST"
    decoder = DotDecoder()
    got: list[bytes] = []
    rest = None
    start = 0
    for pos in [*sorted({min(c, len(data)) for c in cuts}), len(data)]:
        if rest is None:
            out, rest = decoder.feed(data[start:pos])
            got += out
        else:
            rest += data[start:pos]
        start = pos
    assert rest is not None
    assert (b"".join(got), rest) == reference_decode(data)


atom = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=12
)
domain = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=10),
    min_size=1,
    max_size=4,
).map(".".join)
address = st.builds(
    lambda parts, d: ".".join(parts) + "@" + d, st.lists(atom, min_size=1, max_size=3), domain
)
param_key = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", max_size=8),
)
printable = "".join(chr(c) for c in range(33, 127) if chr(c) != "=")
param_value = st.one_of(st.none(), st.text(alphabet=printable, min_size=1, max_size=12))


@settings(max_examples=100, deadline=None)
@given(address, st.dictionaries(param_key, param_value, max_size=5), st.booleans())
def test_mail_and_rcpt_round_trip(addr: str, params: dict[str, str | None], rcpt: bool) -> None:
    from maa.proto.smtp.commands import Mail, Rcpt

    words = "".join(f" {k}" if v is None else f" {k}={v}" for k, v in params.items())
    line = f"RCPT TO:<{addr}>{words}" if rcpt else f"MAIL FROM:<{addr}>{words}"
    command = parse_command(line)
    assert isinstance(command, Rcpt if rcpt else Mail)
    assert command.address == addr
    assert dict(command.params) == params


def reference_path(text: str, allow_null: bool) -> tuple[str, str]:
    """``parse_path`` as a walk over every character, quoting included."""
    text = text.lstrip(" ")
    if not text.startswith("<"):
        raise ValueError
    i, quoted = 1, False
    while i < len(text):
        c = text[i]
        if quoted and c == "\\":
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == ">" and not quoted:
            break
        elif c in "< " and not quoted:
            raise ValueError
        i += 1
    else:
        raise ValueError
    address, rest = text[1:i], text[i + 1 :]
    if rest and not rest.startswith(" "):
        raise ValueError
    if address.startswith("@"):
        _route, colon, address = address.partition(":")
        if not colon:
            raise ValueError
    if not address and not allow_null:
        raise ValueError
    if any(ord(c) < 32 or c == "\x7f" for c in address):
        raise ValueError
    return address, rest


path_text = st.lists(
    st.sampled_from(["<", ">", '"', "\\", " ", "@", ":", ",", "a", "b.c", "\x00", "\x7f", "\xe9"]),
    max_size=14,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(path_text, st.booleans())
def test_parse_path_matches_the_character_walk(text: str, allow_null: bool) -> None:
    try:
        expected: tuple[str, str] | None = reference_path(text, allow_null)
        if expected is not None and expected[0]:
            commands._check_mailbox(expected[0])
    except (ValueError, CommandError):
        expected = None
    try:
        got: tuple[str, str] | None = parse_path(text, allow_null=allow_null)
    except CommandError:
        got = None
    assert got == expected
