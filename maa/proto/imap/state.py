"""The IMAP connection states (RFC 3501 3) and every legal transition, in one table."""

from __future__ import annotations

import enum


class State(enum.Enum):
    NOT_AUTHENTICATED = "not authenticated"
    AUTHENTICATED = "authenticated"
    SELECTED = "selected"
    LOGOUT = "logout"


class Transition(enum.Enum):
    LOGGED_IN = "logged in"  # LOGIN or AUTHENTICATE succeeded
    SELECTED = "selected"  # SELECT or EXAMINE succeeded
    SELECT_FAILED = "select failed"  # RFC 3501 6.3.1: a failed SELECT leaves selected state
    CLOSED = "closed"  # CLOSE or UNSELECT
    LOGGED_OUT = "logged out"  # LOGOUT, autologout, fatal error


NA, AUTH, SEL, OUT = State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED, State.LOGOUT

TRANSITIONS: dict[tuple[State, Transition], State] = {
    (NA, Transition.LOGGED_IN): AUTH,
    (NA, Transition.LOGGED_OUT): OUT,
    (AUTH, Transition.SELECTED): SEL,
    (AUTH, Transition.SELECT_FAILED): AUTH,
    (AUTH, Transition.LOGGED_OUT): OUT,
    (SEL, Transition.SELECTED): SEL,
    (SEL, Transition.SELECT_FAILED): AUTH,
    (SEL, Transition.CLOSED): AUTH,
    (SEL, Transition.LOGGED_OUT): OUT,
    (OUT, Transition.LOGGED_OUT): OUT,
}


class IllegalTransition(Exception):
    pass


class ConnectionState:
    def __init__(self) -> None:
        self.state = State.NOT_AUTHENTICATED

    def apply(self, transition: Transition) -> State:
        try:
            self.state = TRANSITIONS[(self.state, transition)]
        except KeyError:
            raise IllegalTransition(f"{transition.value} in state {self.state.value}") from None
        return self.state
