"""The command table and argument grammar, with a property test over arbitrary lines."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maa.proto.pop3 import commands as c
from maa.proto.pop3.states import State


@pytest.mark.parametrize(
    ("line", "state", "command"),
    [
        ("user alice@example.test", State.AUTHORIZATION, c.User("alice@example.test")),
        ("PASS  spaced pass ", State.AUTHORIZATION, c.Pass(" spaced pass ")),
        ("AUTH plain AGFsaWNl", State.AUTHORIZATION, c.Auth("PLAIN", "AGFsaWNl")),
        ("AUTH", State.AUTHORIZATION, c.Auth(None, None)),
        ("LIST", State.TRANSACTION, c.List(None)),
        ("LIST 007", State.TRANSACTION, c.List(7)),
        ("TOP 2 0", State.TRANSACTION, c.Top(2, 0)),
        ("QUIT ", State.TRANSACTION, c.Quit()),
        ("capa", State.TRANSACTION, c.Capa()),
    ],
)
def test_valid_lines(line: str, state: State, command: c.Command) -> None:
    assert c.parse_command(line, state) == command


@pytest.mark.parametrize(
    ("line", "state", "error"),
    [
        ("RETR", State.TRANSACTION, "Missing argument."),
        ("RETR 1 2", State.TRANSACTION, "Too many arguments."),
        ("RETR -1", State.TRANSACTION, "Invalid message number: -1"),
        ("RETR \u0661", State.TRANSACTION, "Invalid message number: ?"),  # Arabic-Indic digit
        ("RETR 99999999999", State.TRANSACTION, "Invalid message number: 99999999999"),
        ("TOP 1 x", State.TRANSACTION, "Invalid number of lines: x"),
        ("STLS", State.TRANSACTION, "STLS is not valid in the TRANSACTION state."),
        ("USER", State.AUTHORIZATION, "No username given."),
        ("PASS", State.AUTHORIZATION, "No password given."),
        ("", State.AUTHORIZATION, "Empty command."),
        ("\u017ftat", State.TRANSACTION, "Unknown command: ?tat"),  # long s upper-cases to S
    ],
)
def test_invalid_lines(line: str, state: State, error: str) -> None:
    with pytest.raises(c.CommandError) as raised:
        c.parse_command(line, state)
    assert str(raised.value) == error


@given(st.text(max_size=80), st.sampled_from([State.AUTHORIZATION, State.TRANSACTION]))
def test_any_line_parses_or_is_refused_with_printable_text(line: str, state: State) -> None:
    try:
        command = c.parse_command(line, state)
    except c.CommandError as e:
        assert all(" " <= ch <= "~" for ch in str(e))
    else:
        keyword = line.partition(" ")[0].upper()
        assert state in c.COMMANDS[keyword].states
        assert type(command).__name__.upper() == keyword
