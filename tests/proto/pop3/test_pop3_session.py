"""The sans-I/O POP3 core, driven with bytes and fake glue answers: no reactor, no sockets."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from maa.proto.pop3 import (
    Action,
    Authenticate,
    Close,
    Entry,
    LoginFailure,
    MaildropView,
    Pop3Session,
    SendMessage,
    StartTLS,
    State,
    Update,
    Write,
)
from maa.proto.pop3.limits import MAX_AUTH_LINE, MAX_BAD_COMMANDS, MAX_COMMAND_LINE

UIDVALIDITY = 0x5F00AB12
ENTRIES = [Entry(3, 100), Entry(7, 2000), Entry(12, 30)]


class Driver:
    """Feeds a session and keeps what it wrote apart from the other actions it asked for."""

    def __init__(self, *, secure: bool = False, tls: bool = True, plaintext: bool = True) -> None:
        self.session = Pop3Session(secure=secure, tls_available=tls, plaintext_allowed=plaintext)
        self.actions: list[Action] = []
        self.greeting = self._take(self.session.greeting())

    def _take(self, actions: list[Action]) -> bytes:
        written = b""
        for action in actions:
            if isinstance(action, Write):
                written += action.data
            else:
                self.actions.append(action)
        return written

    def send(self, data: bytes) -> bytes:
        return self._take(self.session.receive_data(data))

    def pop(self) -> Action:
        return self.actions.pop(0)

    def login(self) -> None:
        assert self.send(b"USER alice\r\n") == b"+OK\r\n"
        assert self.send(b"PASS secret\r\n") == b""
        assert self.pop() == Authenticate("alice", "secret", "PLAIN")
        reply = self.succeed()
        assert reply == b"+OK Logged in.\r\n"

    def succeed(self) -> bytes:
        return self._take(self.session.login_succeeded(MaildropView(ENTRIES, UIDVALIDITY)))

    def call(self, method: str, *args: object, **kwargs: object) -> bytes:
        return self._take(getattr(self.session, method)(*args, **kwargs))


def logged_in() -> Driver:
    driver = Driver()
    driver.login()
    return driver


def test_greeting() -> None:
    assert Driver().greeting == b"+OK maa ready.\r\n"


def test_capa_before_tls_on_a_public_connection_offers_no_password_mechanism() -> None:
    capa = Driver(plaintext=False).send(b"CAPA\r\n")
    assert capa.startswith(b"+OK ") and capa.endswith(b"\r\n.\r\n")
    lines = capa.split(b"\r\n")[1:-2]
    for cap in (b"TOP", b"UIDL", b"RESP-CODES", b"PIPELINING", b"AUTH-RESP-CODE", b"STLS"):
        assert cap in lines
    assert b"IMPLEMENTATION maa" in lines
    assert b"USER" not in lines
    assert not any(line.startswith(b"SASL") for line in lines)


def test_capa_when_passwords_are_allowed() -> None:
    lines = Driver(secure=True).send(b"CAPA\r\n").split(b"\r\n")
    assert b"USER" in lines and b"SASL PLAIN LOGIN" in lines
    assert b"STLS" not in lines  # TLS is already on


def test_capa_in_transaction_lists_no_login_capabilities() -> None:
    lines = logged_in().send(b"CAPA\r\n").split(b"\r\n")
    assert b"TOP" in lines and b"UIDL" in lines
    assert b"USER" not in lines and b"STLS" not in lines


def test_user_and_pass_refused_before_tls_when_plaintext_is_disallowed() -> None:
    driver = Driver(plaintext=False)
    reply = driver.send(b"USER alice\r\nPASS secret\r\n")
    assert reply == (
        b"-ERR [AUTH] Plaintext authentication disallowed on non-secure connections\r\n"
        b"-ERR [AUTH] Plaintext authentication disallowed on non-secure connections\r\n"
    )
    assert driver.actions == []
    assert driver.send(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n").startswith(b"-ERR [AUTH] Plain")
    assert driver.actions == []


def test_stls_then_login() -> None:
    driver = Driver(plaintext=False)
    assert driver.send(b"STLS\r\n") == b"+OK Begin TLS negotiation now.\r\n"
    assert driver.pop() == StartTLS()
    assert driver.send(b"USER alice\r\n") == b"+OK\r\n"
    assert driver.send(b"STLS\r\n") == b"-ERR TLS is already active.\r\n"


def test_stls_discards_plaintext_pipelined_after_it() -> None:
    """CVE-2011-0411 style command injection: a man in the middle appends commands after
    STLS in plaintext; they must not run as if they had come over TLS."""
    driver = Driver(plaintext=False)
    written = driver.send(b"STLS\r\nUSER mallory\r\nPASS evil\r\n")
    assert written == b"+OK Begin TLS negotiation now.\r\n"
    assert driver.actions == [StartTLS()]
    # Over TLS the client starts afresh: the injected USER was forgotten.
    assert driver.send(b"PASS secret\r\n") == b"-ERR No username given.\r\n"


def test_stls_forgets_a_user_given_before_it() -> None:
    driver = Driver()
    driver.send(b"USER mallory\r\n")
    driver.send(b"STLS\r\n")
    assert driver.send(b"PASS secret\r\n") == b"-ERR No username given.\r\n"


def test_stls_without_tls_configured() -> None:
    assert Driver(tls=False).send(b"STLS\r\n") == b"-ERR TLS support isn't enabled.\r\n"


def test_pass_without_user() -> None:
    assert Driver().send(b"PASS x\r\n") == b"-ERR No username given.\r\n"


def test_password_keeps_spaces_and_bytes() -> None:
    driver = Driver()
    driver.send(b"USER alice\r\nPASS  two words \xff\r\n")
    action = driver.pop()
    assert isinstance(action, Authenticate)
    assert action.password.encode("utf-8", "surrogateescape") == b" two words \xff"


def test_failed_login_needs_user_again() -> None:
    driver = Driver()
    driver.send(b"USER alice\r\nPASS wrong\r\n")
    driver.pop()
    reply = driver.call("login_failed", LoginFailure.BAD_CREDENTIALS)
    assert reply == b"-ERR [AUTH] Authentication failed.\r\n"
    assert driver.session.state is State.AUTHORIZATION
    assert driver.send(b"PASS secret\r\n") == b"-ERR No username given.\r\n"


def test_locked_maildrop() -> None:
    driver = Driver()
    driver.send(b"USER alice\r\nPASS secret\r\n")
    driver.pop()
    reply = driver.call("login_failed", LoginFailure.MAILDROP_LOCKED)
    assert reply == b"-ERR [IN-USE] Mailbox is locked by another POP3 session\r\n"


def test_auth_plain_with_initial_response() -> None:
    driver = Driver()
    token = base64.b64encode(b"\0alice\0secret")
    assert driver.send(b"AUTH PLAIN " + token + b"\r\n") == b""
    assert driver.pop() == Authenticate("alice", "secret", "PLAIN")
    assert driver.succeed() == b"+OK Logged in.\r\n"


def test_auth_plain_with_a_continuation() -> None:
    driver = Driver()
    assert driver.send(b"AUTH PLAIN\r\n") == b"+ \r\n"
    assert driver.send(base64.b64encode(b"alice\0alice\0secret") + b"\r\n") == b""
    assert driver.pop() == Authenticate("alice", "secret", "PLAIN")


def test_auth_login() -> None:
    driver = Driver()
    assert driver.send(b"AUTH LOGIN\r\n") == b"+ VXNlcm5hbWU6\r\n"
    assert driver.send(base64.b64encode(b"alice") + b"\r\n") == b"+ UGFzc3dvcmQ6\r\n"
    assert driver.send(base64.b64encode(b"secret") + b"\r\n") == b""
    assert driver.pop() == Authenticate("alice", "secret", "LOGIN")


def test_auth_cancelled_and_bad_base64() -> None:
    driver = Driver()
    driver.send(b"AUTH LOGIN\r\n")
    assert driver.send(b"*\r\n") == b"-ERR Authentication aborted by client.\r\n"
    driver.send(b"AUTH LOGIN\r\n")
    assert driver.send(b"!!!\r\n").startswith(b"-ERR [AUTH] ")
    assert driver.send(b"NOOP\r\n") == b"+OK\r\n"


def test_auth_as_another_user_is_refused() -> None:
    driver = Driver()
    token = base64.b64encode(b"bob\0alice\0secret")
    assert driver.send(b"AUTH PLAIN " + token + b"\r\n").startswith(b"-ERR [AUTH] ")
    assert driver.actions == []


def test_auth_unknown_mechanism_and_listing() -> None:
    driver = Driver()
    assert driver.send(b"AUTH CRAM-MD5\r\n") == (
        b"-ERR [AUTH] Unsupported authentication mechanism.\r\n"
    )
    assert driver.send(b"AUTH\r\n") == b"+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n"


def test_transaction_commands_before_login() -> None:
    driver = Driver()
    assert driver.send(b"STAT\r\n") == b"-ERR STAT is not valid in the AUTHORIZATION state.\r\n"
    assert driver.send(b"RETR 1\r\n").startswith(b"-ERR RETR is not valid")


def test_stat_list_uidl() -> None:
    driver = logged_in()
    assert driver.send(b"STAT\r\n") == b"+OK 3 2130\r\n"
    assert driver.send(b"LIST\r\n") == b"+OK 3 messages:\r\n1 100\r\n2 2000\r\n3 30\r\n.\r\n"
    assert driver.send(b"LIST 2\r\n") == b"+OK 2 2000\r\n"
    assert driver.send(b"UIDL\r\n") == (
        b"+OK\r\n1 000000035f00ab12\r\n2 000000075f00ab12\r\n3 0000000c5f00ab12\r\n.\r\n"
    )
    assert driver.send(b"uidl 3\r\n") == b"+OK 3 0000000c5f00ab12\r\n"
    assert driver.send(b"LIST 4\r\n") == b"-ERR There's no message 4.\r\n"
    assert driver.send(b"LIST 0\r\n") == b"-ERR There's no message 0.\r\n"
    assert driver.send(b"LIST x\r\n") == b"-ERR Invalid message number: x\r\n"
    assert driver.send(b"LIST +1\r\n") == b"-ERR Invalid message number: +1\r\n"


def test_dele_hides_the_message_and_rset_brings_it_back() -> None:
    driver = logged_in()
    assert driver.send(b"DELE 2\r\n") == b"+OK Marked to be deleted.\r\n"
    assert driver.send(b"DELE 2\r\n") == b"-ERR Message is deleted.\r\n"
    assert driver.send(b"RETR 2\r\n") == b"-ERR Message is deleted.\r\n"
    assert driver.send(b"STAT\r\n") == b"+OK 2 130\r\n"
    assert driver.send(b"LIST\r\n") == b"+OK 2 messages:\r\n1 100\r\n3 30\r\n.\r\n"
    assert driver.send(b"RSET\r\n") == b"+OK maildrop has 3 messages (2130 octets)\r\n"
    assert driver.send(b"STAT\r\n") == b"+OK 3 2130\r\n"


def test_retr_waits_for_the_glue_and_keeps_pipelined_commands_in_order() -> None:
    driver = logged_in()
    assert driver.send(b"RETR 1\r\nTOP 3 0\r\nNOOP\r\n") == b""
    assert driver.pop() == SendMessage(3, b"+OK 100 octets\r\n", None)
    assert driver.actions == []
    assert driver.call("send_finished", 103) == b""
    assert driver.pop() == SendMessage(12, b"+OK\r\n", 0)
    assert driver.call("send_finished", 20) == b"+OK\r\n"
    assert driver.session.stats.retr_count == 1 and driver.session.stats.retr_bytes == 103
    assert driver.session.stats.top_count == 1


def test_retr_of_a_message_gone_from_storage() -> None:
    driver = logged_in()
    driver.send(b"RETR 1\r\nNOOP\r\n")
    driver.pop()
    reply = driver.call("send_failed", gone=True)
    assert reply == b"-ERR [SYS/PERM] Message was removed by another session.\r\n+OK\r\n"


def test_quit_updates_deleted_and_seen_then_closes() -> None:
    driver = logged_in()
    driver.send(b"RETR 1\r\n")
    driver.pop()
    driver.call("send_finished", 103)
    driver.send(b"RETR 2\r\n")
    driver.pop()
    driver.call("send_finished", 2003)
    driver.send(b"DELE 2\r\nDELE 3\r\nQUIT\r\n")
    assert driver.pop() == Update(expunge=(7, 12), seen=(3,))
    assert driver.session.state is State.UPDATE
    assert driver.call("update_finished", True) == b"+OK Logging out, messages deleted.\r\n"
    assert driver.pop() == Close()
    assert driver.session.state is State.CLOSED
    assert driver.session.stats.deleted == 2


def test_quit_with_nothing_deleted() -> None:
    driver = logged_in()
    driver.send(b"QUIT\r\n")
    assert driver.pop() == Update((), ())
    assert driver.call("update_finished", True) == b"+OK Logging out.\r\n"


def test_failed_update_is_reported() -> None:
    driver = logged_in()
    driver.send(b"DELE 1\r\nQUIT\r\n")
    driver.pop()
    reply = driver.call("update_finished", False)
    assert reply == b"-ERR [SYS/TEMP] Some deleted messages were not removed.\r\n"


def test_a_dropped_connection_deletes_nothing_but_keeps_seen() -> None:
    driver = logged_in()
    driver.send(b"RETR 3\r\n")
    driver.pop()
    driver.call("send_finished", 33)
    driver.send(b"DELE 1\r\n")
    assert driver.session.connection_lost() == (12,)
    assert driver.actions == []


def test_quit_in_authorization() -> None:
    driver = Driver()
    assert driver.send(b"QUIT\r\nNOOP\r\n") == b"+OK Logging out.\r\n"
    assert driver.pop() == Close()


def test_over_long_line_is_refused_and_the_session_goes_on() -> None:
    driver = Driver()
    reply = driver.send(b"USER " + b"a" * MAX_COMMAND_LINE + b"\r\nNOOP\r\n")
    assert reply == b"-ERR Line too long.\r\n+OK\r\n"


def test_over_long_line_without_end_is_not_buffered() -> None:
    driver = Driver()
    assert driver.send(b"X" * (MAX_AUTH_LINE + 1)) == b"-ERR Line too long.\r\n"
    assert driver.send(b"X" * 100_000) == b""  # still the same line: dropped
    assert driver.send(b"\r\nNOOP\r\n") == b"+OK\r\n"


def test_auth_line_may_be_longer_than_a_command() -> None:
    driver = Driver()
    token = base64.b64encode(b"\0alice\0" + b"p" * 250)
    assert len(token) > MAX_COMMAND_LINE // 3
    driver.send(b"AUTH PLAIN " + token + b"\r\n")
    assert isinstance(driver.pop(), Authenticate)


def test_too_many_bad_commands_close_the_connection() -> None:
    driver = Driver()
    reply = driver.send(b"BOGUS\r\n" * (MAX_BAD_COMMANDS + 5))
    assert reply.count(b"-ERR Unknown command: BOGUS\r\n") == MAX_BAD_COMMANDS
    assert reply.endswith(b"-ERR Too many bad commands.\r\n")
    assert driver.pop() == Close()
    assert driver.send(b"NOOP\r\n") == b""


def test_control_characters_are_not_echoed() -> None:
    reply = Driver().send(b"\x1b[31m\r\n")
    assert reply == b"-ERR Unknown command: ?[31M\r\n"


def test_idle_timeout() -> None:
    driver = Driver()
    assert driver.call("timed_out") == b"-ERR Disconnected for inactivity.\r\n"
    assert driver.pop() == Close()


def test_bare_lf_line_ends_are_accepted() -> None:
    assert Driver().send(b"NOOP\nNOOP\n") == b"+OK\r\n+OK\r\n"


def test_command_split_across_packets() -> None:
    driver = Driver()
    assert driver.send(b"NO") == b""
    assert driver.send(b"OP\r") == b""
    assert driver.send(b"\n") == b"+OK\r\n"


def _play(driver: Driver, data: bytes) -> None:
    """Feed data, answering every action the way a glue would, as far as the core lets."""
    driver.send(data)
    for _ in range(100):
        if not driver.actions:
            return
        action = driver.pop()
        if isinstance(action, Authenticate):
            driver.succeed()
        elif isinstance(action, SendMessage):
            driver.call("send_finished", 10)
        elif isinstance(action, Update):
            driver.call("update_finished", True)


command_words = st.sampled_from(
    [
        "USER", "PASS", "AUTH", "STLS", "CAPA", "STAT", "LIST", "UIDL", "RETR",
        "TOP", "DELE", "NOOP", "RSET", "QUIT", "APOP", "XTND", "",
    ]
)  # fmt: skip
arguments = st.lists(
    st.one_of(
        st.integers(-5, 2**40).map(str),
        st.sampled_from(["PLAIN", "LOGIN", "*", "=", "AGFsaWNlAHNlY3JldA==", "alice"]),
        st.text(max_size=20),
    ),
    max_size=3,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(command_words, arguments), max_size=25), st.booleans())
def test_random_command_lines_never_crash_the_core(
    lines: list[tuple[str, list[str]]], plaintext: bool
) -> None:
    driver = Driver(plaintext=plaintext)
    for word, args in lines:
        line = " ".join([word, *args]).encode("utf-8", "surrogatepass") + b"\r\n"
        _play(driver, line)
        if driver.session.state is State.CLOSED:
            break


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_random_bytes_never_crash_the_core(chunks: list[bytes]) -> None:
    driver = Driver()
    for chunk in chunks:
        _play(driver, chunk)


def test_idle_timeout_in_the_middle_of_a_message_writes_nothing_more() -> None:
    driver = logged_in()
    driver.send(b"RETR 1\r\n")
    driver.pop()
    assert driver.call("timed_out") == b""
    assert driver.pop() == Close()
    assert driver.call("send_finished", 10) == b""


def test_a_login_finishing_after_the_idle_timeout_is_dropped() -> None:
    driver = Driver()
    driver.send(b"USER alice\r\nPASS secret\r\n")
    driver.pop()
    driver.call("timed_out")
    assert driver.succeed() == b""
    assert driver.session.closed
    assert driver.session.maildrop is None


def test_input_piling_up_behind_a_retr_asks_the_glue_to_stop_reading() -> None:
    from maa.proto.pop3.limits import MAX_PIPELINED_INPUT

    driver = logged_in()
    driver.send(b"RETR 1\r\n")
    assert driver.session.busy and not driver.session.input_backlog
    driver.send(b"NOOP\r\n" * (MAX_PIPELINED_INPUT // 6 + 1))
    assert driver.session.input_backlog
    driver.pop()
    reply = driver.call("send_finished", 103)
    assert reply.count(b"+OK\r\n") == MAX_PIPELINED_INPUT // 6 + 1
    assert not driver.session.input_backlog
