"""The POP3 session states of RFC 1939 and the one table of legal moves between them."""

from __future__ import annotations

import enum


class State(enum.Enum):
    AUTHORIZATION = "AUTHORIZATION"
    TRANSACTION = "TRANSACTION"
    UPDATE = "UPDATE"
    CLOSED = "CLOSED"


class Transition(enum.Enum):
    LOGGED_IN = "logged in"  # PASS or AUTH succeeded and the maildrop is locked
    QUIT = "quit"
    UPDATED = "updated"  # the deletions of the UPDATE state are done
    CLOSE = "close"  # too many bad commands, idle timeout, or the peer went away


class IllegalTransition(Exception):
    pass


TRANSITIONS: dict[tuple[State, Transition], State] = {
    (State.AUTHORIZATION, Transition.LOGGED_IN): State.TRANSACTION,
    (State.AUTHORIZATION, Transition.QUIT): State.CLOSED,
    (State.AUTHORIZATION, Transition.CLOSE): State.CLOSED,
    (State.TRANSACTION, Transition.QUIT): State.UPDATE,
    (State.TRANSACTION, Transition.CLOSE): State.CLOSED,
    (State.UPDATE, Transition.UPDATED): State.CLOSED,
    (State.UPDATE, Transition.CLOSE): State.CLOSED,
    (State.CLOSED, Transition.CLOSE): State.CLOSED,
}


def next_state(state: State, transition: Transition) -> State:
    try:
        return TRANSITIONS[state, transition]
    except KeyError:
        raise IllegalTransition(f"{transition.value} in {state.value}") from None
