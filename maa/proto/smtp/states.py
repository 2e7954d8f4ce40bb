"""The SMTP/LMTP session states and the one table of legal transitions.

A session is in exactly one ``State``. ``TRANSITIONS`` lists every (state, trigger) pair that
is legal and the state it leads to; the engine asks ``next_state`` and anything else is a
bug (``KeyError``). ``ALLOWED`` says in which states each verb may be used; a verb used
elsewhere gets the bad-sequence reply from ``OUT_OF_SEQUENCE``.
"""

from __future__ import annotations

from enum import Enum

from maa.proto.smtp import replies as r


class State(Enum):
    CONNECTED = "connected, no HELO/EHLO/LHLO yet"
    GREETED = "greeted, no mail transaction"
    MAIL = "MAIL accepted, no recipient yet"
    RCPT = "at least one recipient accepted"
    DATA = "reading DATA content"
    BDAT = "reading a BDAT chunk"
    BDAT_MORE = "between BDAT chunks"
    AUTH = "in a SASL exchange"
    CLOSED = "QUIT or 421 sent; nothing more is read"


class Trigger(Enum):
    HELLO = "HELO/EHLO/LHLO accepted"
    MAIL_OK = "the glue accepted MAIL"
    RCPT_OK = "the glue accepted RCPT"
    DATA = "DATA accepted (354 sent)"
    BDAT = "BDAT chunk header accepted"
    CHUNK_DONE = "a non-LAST BDAT chunk fully read"
    MESSAGE_DONE = "end of data, or the last BDAT chunk read"
    RESET = "RSET, or a transaction failed"
    TLS = "TLS started (RFC 3207: the session starts afresh)"
    AUTH = "AUTH started"
    AUTH_DONE = "SASL exchange finished, either way"
    CLOSE = "QUIT or too many errors"


S, T = State, Trigger
_TRANSACTION = (S.GREETED, S.MAIL, S.RCPT, S.BDAT_MORE)

TRANSITIONS: dict[tuple[State, Trigger], State] = {
    (S.CONNECTED, T.HELLO): S.GREETED,
    **{(s, T.HELLO): S.GREETED for s in _TRANSACTION},  # EHLO again = RSET (RFC 5321 4.1.4)
    (S.GREETED, T.MAIL_OK): S.MAIL,
    (S.MAIL, T.RCPT_OK): S.RCPT,
    (S.RCPT, T.RCPT_OK): S.RCPT,
    (S.RCPT, T.DATA): S.DATA,
    (S.RCPT, T.BDAT): S.BDAT,
    (S.BDAT_MORE, T.BDAT): S.BDAT,
    (S.BDAT, T.CHUNK_DONE): S.BDAT_MORE,
    (S.BDAT, T.MESSAGE_DONE): S.GREETED,
    (S.DATA, T.MESSAGE_DONE): S.GREETED,
    (S.CONNECTED, T.RESET): S.CONNECTED,
    **{(s, T.RESET): S.GREETED for s in (*_TRANSACTION, S.DATA, S.BDAT)},
    (S.GREETED, T.TLS): S.CONNECTED,
    (S.GREETED, T.AUTH): S.AUTH,
    (S.AUTH, T.AUTH_DONE): S.GREETED,
    **{(s, T.CLOSE): S.CLOSED for s in State},
}


def next_state(state: State, trigger: Trigger) -> State:
    return TRANSITIONS[(state, trigger)]


_ANYTIME = frozenset(State) - {State.DATA, State.BDAT, State.AUTH, State.CLOSED}

# Verb → states it is legal in. Reading content (DATA, BDAT) and SASL exchanges take lines
# that are not commands, so no verb is legal there.
ALLOWED: dict[str, frozenset[State]] = {
    "EHLO": _ANYTIME,
    "HELO": _ANYTIME,
    "LHLO": _ANYTIME,
    "MAIL": frozenset({S.GREETED}),
    "RCPT": frozenset({S.MAIL, S.RCPT}),
    "DATA": frozenset({S.RCPT}),
    "BDAT": frozenset({S.RCPT, S.BDAT_MORE}),
    "RSET": _ANYTIME,
    "NOOP": _ANYTIME,
    "QUIT": _ANYTIME,
    "VRFY": _ANYTIME,
    "HELP": _ANYTIME,
    "STARTTLS": frozenset({S.GREETED}),
    "AUTH": frozenset({S.GREETED}),
}


def out_of_sequence(verb: str, state: State, lmtp: bool) -> r.Reply:
    """The 5xx for a verb used in a state it is not legal in."""
    if state is State.CONNECTED:
        return r.S503_LHLO_FIRST if lmtp else r.S503_HELO_FIRST
    if verb == "MAIL":
        return r.S503_NESTED_MAIL
    if verb == "RCPT":
        return r.S503_MAIL_FIRST
    if verb in ("DATA", "BDAT"):
        if state is State.GREETED:
            return r.S503_MAIL_FIRST
        # RFC 2033 4.2 asks for 503 in LMTP; Postfix's smtpd answers 554 in SMTP.
        return r.S503_NO_RCPTS if lmtp else r.S554_NO_RCPTS
    if verb == "AUTH" and state in (State.MAIL, State.RCPT, State.BDAT_MORE):
        return r.S503_AUTH_IN_MAIL
    return r.S503_BAD_SEQUENCE
