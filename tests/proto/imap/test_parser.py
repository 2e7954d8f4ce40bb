"""Parsing framed commands into their dataclasses."""

from __future__ import annotations

import datetime

import pytest

from maa.proto.imap import commands as c
from maa.proto.imap import searchkeys as k
from maa.proto.imap.fetchattrs import Section
from maa.proto.imap.framing import Framer, RawCommand
from maa.proto.imap.sequence import SequenceSet
from maa.proto.imap.state import ConnectionState, IllegalTransition, State, Transition
from maa.proto.imap.table import CommandError, parse_command


def parse(data: bytes) -> object:
    f = Framer()
    f.feed(data if data.endswith(b"\n") else data + b"\r\n")
    while True:
        event = f.next_event()
        assert event is not None
        if isinstance(event, RawCommand):
            return parse_command(event).command


def test_login_with_quoted_escapes() -> None:
    assert parse(b'a LOGIN "al\\"ice" "p\\\\w"') == c.Login(b'al"ice', b"p\\w")


def test_login_repr_hides_password() -> None:
    assert "secret" not in repr(c.Login(b"alice", b"secret"))


def test_uid_fetch_with_sections_and_partial() -> None:
    cmd = parse(b"t UID FETCH 1:*,3 (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100>)")
    assert cmd == c.Fetch(
        SequenceSet(((1, None), (3, 3))),
        ("UID", "FLAGS", Section((1, 2), "HEADER.FIELDS", ("FROM", "TO"), True, (0, 100))),
        uid=True,
    )


def test_fetch_macros_expand() -> None:
    cmd = parse(b"t FETCH 1 FAST")
    assert isinstance(cmd, c.Fetch)
    assert cmd.items == ("FLAGS", "INTERNALDATE", "RFC822.SIZE")


@pytest.mark.parametrize(
    ("text", "section"),
    [
        (b"BODY[]", Section()),
        (b"BODY[TEXT]", Section(text="TEXT")),
        (b"BODY[1]", Section(part=(1,))),
        (b"BODY[2.MIME]", Section(part=(2,), text="MIME")),
        (b"BODY[HEADER.FIELDS.NOT (X-A)]", Section(text="HEADER.FIELDS.NOT", fields=("X-A",))),
    ],
)
def test_body_sections(text: bytes, section: Section) -> None:
    cmd = parse(b"t FETCH 1 " + text)
    assert isinstance(cmd, c.Fetch)
    assert cmd.items == (section,)


def test_search_nesting_and_charset() -> None:
    cmd = parse(b't SEARCH CHARSET UTF-8 OR (FROM "x y") NOT SEEN 1:3 SINCE 1-Feb-2020')
    assert cmd == c.Search(
        k.And(
            (
                k.Or(k.Text("FROM", "x y"), k.Not(k.Simple("SEEN"))),
                k.Sequence(SequenceSet(((1, 3),)), uid=False),
                k.Date("SINCE", datetime.date(2020, 2, 1)),
            )
        ),
        "UTF-8",
    )


def test_search_cc_is_not_mistaken_for_charset() -> None:
    assert parse(b"t SEARCH CC bob") == c.Search(k.Text("CC", "bob"))


def test_search_utf8_literal() -> None:
    text = "Grüße".encode()
    cmd = parse(b"t SEARCH CHARSET UTF-8 SUBJECT {%d+}\r\n%s" % (len(text), text))
    assert cmd == c.Search(k.Text("SUBJECT", "Grüße"), "UTF-8")


def test_search_unknown_charset_is_badcharset() -> None:
    with pytest.raises(CommandError, match="BADCHARSET"):
        parse(b"t SEARCH CHARSET KOI8-R ALL")


def test_append_with_flags_and_date() -> None:
    cmd = parse(b't APPEND Sent (\\Seen $Label1) "05-Mar-2024 10:00:00 +0100" {3+}\r\nabc')
    assert isinstance(cmd, c.Append)
    assert cmd.flags == ("\\Seen", "$Label1")
    assert cmd.date == datetime.datetime(
        2024, 3, 5, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
    )
    assert cmd.message.read_all() == b"abc"


def test_store_forms() -> None:
    assert parse(b"t STORE 1:2 +FLAGS.SILENT (\\Deleted)") == c.Store(
        SequenceSet(((1, 2),)), "add", True, ("\\Deleted",)
    )
    assert parse(b"t UID STORE 5 -FLAGS $Junk \\Seen") == c.Store(
        SequenceSet(((5, 5),)), "remove", False, ("$Junk", "\\Seen"), uid=True
    )


def test_id_and_enable() -> None:
    assert parse(b't ID ("name" "mutt" "version" NIL)') == c.Id(
        (("name", "mutt"), ("version", None))
    )
    assert parse(b"t ID NIL") == c.Id(None)
    assert parse(b"t ENABLE UTF8=ACCEPT CONDSTORE") == c.Enable(("UTF8=ACCEPT", "CONDSTORE"))


def test_list_wildcards() -> None:
    assert parse(b't LIST "" %') == c.List(b"", b"%")
    assert parse(b"t LSUB INBOX. *") == c.Lsub(b"INBOX.", b"*")


def test_authenticate_with_initial_response() -> None:
    assert parse(b"t AUTHENTICATE PLAIN AGEAYg==") == c.Authenticate("PLAIN", "AGEAYg==")


@pytest.mark.parametrize(
    "line",
    [
        b"t FETCH 1 (FLAGS",
        b"t FETCH 0 FLAGS",
        b"t FETCH 1 BODY[4.X]",
        b"t FETCH 1 (FAST)",
        b"t STORE 1 FLAGS (\\Recent)",
        b't LOGIN "unterminated',
        b"t NOOP extra",
        b"t SELECT",
        b"t SEARCH NOSUCHKEY",
        b"t STATUS INBOX (NOPE)",
        b"t UID FROB 1",
        b"*",
    ],
)
def test_malformed_commands_raise_command_error(line: bytes) -> None:
    with pytest.raises(CommandError):
        parse(line)


def test_state_table() -> None:
    s = ConnectionState()
    assert s.apply(Transition.LOGGED_IN) is State.AUTHENTICATED
    assert s.apply(Transition.SELECTED) is State.SELECTED
    assert s.apply(Transition.SELECT_FAILED) is State.AUTHENTICATED
    with pytest.raises(IllegalTransition):
        s.apply(Transition.CLOSED)
    assert s.apply(Transition.LOGGED_OUT) is State.LOGOUT


def test_sequence_set_resolution() -> None:
    s = SequenceSet(((4, 2), (7, None)))
    assert s.select([1, 2, 3, 4, 5, 6, 7, 8]) == [2, 3, 4, 7, 8]
    assert SequenceSet(((9, None),)).select([1, 2, 3]) == [3]  # "9:*" when 3 is the largest
