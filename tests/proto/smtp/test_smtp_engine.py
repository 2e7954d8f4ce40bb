"""Transcript tests of the sans-I/O SMTP/LMTP engine: every command in every state."""

from __future__ import annotations

import pytest
from smtp_transcript import Session, reply_codes

from maa.proto.smtp import Dialect, Reply, SmtpEngine
from maa.proto.smtp import events as ev
from maa.proto.smtp.engine import MAX_COMMAND_LINE, MAX_ERRORS
from maa.proto.smtp.states import TRANSITIONS, State

LHLO = b"LHLO client.example\r\n"
ENVELOPE = b"MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n"


def test_greeting_names_host_and_dialect() -> None:
    assert Session().greeting == b"220 mx.example.test LMTP maa ready\r\n"
    assert Session(Dialect.SMTP).greeting == b"220 mx.example.test ESMTP maa ready\r\n"


def test_lhlo_lists_lmtp_extensions() -> None:
    out = Session().send(LHLO)
    lines = out.decode().split("\r\n")
    assert lines[0] == "250-mx.example.test"
    assert "250-PIPELINING" in lines
    assert "250-SIZE 10000" in lines
    assert "250-ENHANCEDSTATUSCODES" in lines
    assert "250-8BITMIME" in lines
    assert "250 CHUNKING" in lines
    assert "STARTTLS" not in out.decode() and "AUTH" not in out.decode()


def test_ehlo_lists_smtp_extensions_and_tls_auth_when_allowed() -> None:
    s = Session(Dialect.SMTP, settings_extra={"starttls": True, "auth": True})
    text = s.send(b"EHLO c\r\n").decode()
    assert "SMTPUTF8" in text and "DSN" in text and "STARTTLS" in text
    assert "AUTH" not in text  # not on loopback and no TLS yet
    s2 = Session(Dialect.SMTP, settings_extra={"auth": True, "plaintext_auth": True})
    assert "250 AUTH PLAIN LOGIN" in s2.send(b"EHLO c\r\n").decode()


def test_helo_is_a_one_line_reply() -> None:
    assert Session(Dialect.SMTP).send(b"HELO c\r\n") == b"250 mx.example.test\r\n"


@pytest.mark.parametrize("verb", [b"EHLO", b"HELO", b"STARTTLS", b"AUTH PLAIN"])
def test_smtp_verbs_unknown_in_lmtp(verb: bytes) -> None:
    assert Session().send(verb + b" x\r\n") == b"500 5.5.1 Unknown command\r\n"


@pytest.mark.parametrize("name", [b"", b"a\x01b", b"a<b", b"x@y", b"[1.2.3.4"])
def test_bad_hello_names_are_refused(name: bytes) -> None:
    assert Session().codes(b"LHLO " + name + b"\r\n") == [501]


def test_lhlo_unknown_in_smtp() -> None:
    assert Session(Dialect.SMTP).codes(b"LHLO x\r\n") == [500]


def test_full_lmtp_transaction_with_per_recipient_replies() -> None:
    s = Session()
    out = s.send(
        LHLO + b"MAIL FROM:<a@example.test> SIZE=20 BODY=8BITMIME\r\n"
        b"RCPT TO:<b@example.test>\r\nRCPT TO:<nobody@example.test>\r\n"
        b"RCPT TO:<c@example.test>\r\nDATA\r\n"
    )
    assert reply_codes(out) == [250, 250, 250, 550, 250, 354]
    out = s.send(b"Subject: hi\r\n\r\nbody\r\n.\r\n")
    assert out == b"250 2.0.0 Saved\r\n250 2.0.0 Saved\r\n"
    assert s.messages == [b"Subject: hi\r\n\r\nbody\r\n"]
    (end,) = s.of_type(ev.MessageEnd)
    assert isinstance(end, ev.MessageEnd)
    assert [r.address for r in end.recipients] == ["b@example.test", "c@example.test"]
    assert s.of_type(ev.MailFrom)[0].params == {"SIZE": "20", "BODY": "8BITMIME"}  # type: ignore[attr-defined]
    assert s.engine.state is State.GREETED


def test_lmtp_replies_come_in_recipient_order_whatever_order_they_are_given() -> None:
    s = Session(decide=None)
    engine = s.engine
    engine.receive_data(LHLO + b"MAIL FROM:<a@x.test>\r\n")
    s.pump()
    engine.answer(Reply(250, "2.1.0", "Ok"))
    for rcpt in (b"r1@x.test", b"r2@x.test", b"r3@x.test"):
        engine.receive_data(b"RCPT TO:<" + rcpt + b">\r\n")
        s.pump()
        engine.answer(Reply(250, "2.1.5", "Ok"))
    engine.receive_data(b"DATA\r\nhello\r\n.\r\nNOOP\r\n")
    s.pump()
    engine.data_to_send()
    engine.answer_recipient(2, Reply(250, "2.0.0", "third"))
    engine.answer_recipient(1, Reply(452, "4.2.2", "second over quota"))
    s.pump()
    assert engine.data_to_send() == b""  # the first is not known yet: nothing can go out
    engine.answer_recipient(0, Reply(250, "2.0.0", "first"))
    s.pump()
    assert engine.data_to_send() == (
        b"250 2.0.0 first\r\n452 4.2.2 second over quota\r\n250 2.0.0 third\r\n250 2.0.0 Ok\r\n"
    )
    with pytest.raises(RuntimeError):
        engine.answer_recipient(0, Reply(250, "2.0.0", "again"))


def test_pipelined_commands_wait_for_a_late_decision() -> None:
    s = Session(decide=None)
    s.send(LHLO)
    out = s.send(ENVELOPE + b"DATA\r\n")
    assert out == b""  # MAIL is undecided: nothing after it is read yet
    assert isinstance(s.engine.pending, ev.MailFrom)
    s.engine.answer(Reply(250, "2.1.0", "Ok"))
    s.pump()
    assert isinstance(s.engine.pending, ev.RcptTo)
    s.engine.answer(Reply(250, "2.1.5", "Ok"))
    s.pump()
    assert reply_codes(s.engine.data_to_send()) == [250, 250, 354]


def test_smtp_end_of_data_has_one_reply() -> None:
    s = Session(Dialect.SMTP)
    s.send(b"EHLO c\r\n" + ENVELOPE + b"RCPT TO:<c@example.test>\r\n")
    assert (
        s.send(b"DATA\r\nx\r\n.\r\n")
        == b"354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Saved\r\n"
    )


@pytest.mark.parametrize(
    ("commands", "code", "text"),
    [
        (b"MAIL FROM:<a@x.test>\r\n", 503, b"LHLO first"),
        (LHLO + b"RCPT TO:<a@x.test>\r\n", 503, b"need MAIL"),
        (LHLO + b"DATA\r\n", 503, b"need MAIL"),
        (LHLO + b"MAIL FROM:<a@x.test>\r\nDATA\r\n", 503, b"no valid recipients"),
        (LHLO + b"MAIL FROM:<a@x.test>\r\nMAIL FROM:<a@x.test>\r\n", 503, b"nested"),
        (LHLO + b"MAIL FROM:<a@x.test>\r\nRCPT TO:<nobody@x.test>\r\nDATA\r\n", 503, b""),
    ],
)
def test_out_of_sequence(commands: bytes, code: int, text: bytes) -> None:
    out = Session().send(commands)
    assert reply_codes(out)[-1] == code
    assert text in out.splitlines()[-1]


def test_rset_forgets_the_transaction() -> None:
    s = Session()
    s.send(LHLO + ENVELOPE)
    assert s.send(b"RSET\r\n") == b"250 2.0.0 Ok\r\n"
    assert s.of_type(ev.TransactionReset)
    assert s.codes(b"DATA\r\n") == [503]
    assert s.codes(ENVELOPE + b"DATA\r\n") == [250, 250, 354]


def test_noop_vrfy_help_quit() -> None:
    s = Session()
    assert s.send(b"NOOP whatever\r\n") == b"250 2.0.0 Ok\r\n"
    assert s.codes(b"VRFY alice\r\n") == [252]
    assert s.codes(b"VRFY\r\n") == [501]
    assert s.send(b"HELP\r\n") == (
        b"214 2.0.0 Commands: LHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP\r\n"
    )
    assert s.send(b"QUIT\r\nNOOP\r\n") == b"221 2.0.0 mx.example.test Bye\r\n"
    assert s.engine.closed and s.of_type(ev.Closing)
    assert s.send(b"NOOP\r\n") == b""


def test_lhlo_again_resets_the_transaction() -> None:
    s = Session()
    s.send(LHLO + ENVELOPE)
    assert s.codes(LHLO) == [250]
    assert s.of_type(ev.TransactionReset)
    assert s.codes(b"DATA\r\n") == [503]


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"MAIL FROM:a@x.test", 501),
        (b"MAIL FROM:<a@x.test", 501),
        (b"MAIL FROM:<a b@x.test>", 501),
        (b"MAIL TO:<a@x.test>", 501),
        (b"MAIL FROM:<a@x.test> FOO=1", 555),
        (b"MAIL FROM:<a@x.test> SIZE=abc", 501),
        (b"MAIL FROM:<a@x.test> SIZE=10001", 552),
        (b"MAIL FROM:<a@x.test> BODY=9BIT", 501),
        (b"MAIL FROM:<a@x.test> SMTPUTF8", 555),  # not an LMTP extension here
        (b"MAIL FROM:<\xc3\xa9@x.test>", 553),
        (b"MAIL FROM:<a@x.test> SIZE=1 SIZE=2", 501),
        (b"BOGUS", 500),
        (b"\xff\xfe", 500),
    ],
)
def test_mail_syntax_errors(line: bytes, code: int) -> None:
    assert Session().codes(LHLO + line + b"\r\n") == [250, code]


def test_size_limit_at_mail_uses_552_534() -> None:
    out = Session().send(LHLO + b"MAIL FROM:<a@x.test> SIZE=999999\r\n")
    assert out.endswith(b"552 5.3.4 Message size exceeds fixed maximum message size\r\n")


def test_null_sender_and_postmaster() -> None:
    s = Session()
    assert s.codes(LHLO + b"MAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\n") == [250, 250, 250]
    assert s.codes(b"RCPT TO:<>\r\n") == [501]


def test_source_route_is_dropped() -> None:
    s = Session()
    s.send(LHLO + b"MAIL FROM:<@relay.test,@b.test:a@x.test>\r\n")
    assert s.of_type(ev.MailFrom)[0].address == "a@x.test"  # type: ignore[attr-defined]


def test_smtp_dsn_and_smtputf8_parameters_pass_through() -> None:
    s = Session(Dialect.SMTP)
    s.send(
        b"EHLO c\r\nMAIL FROM:<\xc3\xa9@x.test> SMTPUTF8 RET=HDRS ENVID=abc\r\n"
        b"RCPT TO:<b@x.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@x.test\r\n"
    )
    mail, rcpt = s.of_type(ev.MailFrom)[0], s.of_type(ev.RcptTo)[0]
    assert mail.address == "\u00e9@x.test"  # type: ignore[attr-defined]
    assert mail.params == {"SMTPUTF8": None, "RET": "HDRS", "ENVID": "abc"}  # type: ignore[attr-defined]
    assert rcpt.params == {"NOTIFY": "SUCCESS,FAILURE", "ORCPT": "rfc822;b@x.test"}  # type: ignore[attr-defined]
    assert s.codes(b"RCPT TO:<c@x.test> NOTIFY=NEVER,SUCCESS\r\n") == [501]


def test_smtp_data_without_valid_recipients_is_554() -> None:
    s = Session(Dialect.SMTP)
    out = s.send(b"EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<nobody@x.test>\r\nDATA\r\n")
    assert out.endswith(b"554 5.5.1 Error: no valid recipients\r\n")


def test_helo_client_gets_no_esmtp_parameters() -> None:
    s = Session(Dialect.SMTP)
    assert s.codes(b"HELO c\r\nMAIL FROM:<a@x.test> SIZE=10\r\n") == [250, 555]


def test_dot_stuffing_is_removed() -> None:
    s = Session()
    s.send(LHLO + ENVELOPE + b"DATA\r\n")
    s.send(b"..leading dot\r\n...\r\n.\r\n")
    assert s.messages == [b".leading dot\r\n..\r\n"]


def test_data_split_anywhere_gives_the_same_message() -> None:
    body = b"a\r\n..b\r\n.\r\nNOOP\r\n"
    for cut in range(len(body) + 1):
        s = Session()
        s.send(LHLO + ENVELOPE + b"DATA\r\n")
        out = s.send(body[:cut]) + s.send(body[cut:])
        assert s.messages == [b"a\r\n.b\r\n"], cut
        assert reply_codes(out) == [250, 250]


def test_message_over_size_limit_is_refused_at_end_of_data() -> None:
    s = Session(max_message_size=100)
    s.send(LHLO + ENVELOPE + b"DATA\r\n")
    out = s.send(b"x" * 60 + b"\r\n" + b"y" * 60 + b"\r\n.\r\nNOOP\r\n")
    assert reply_codes(out) == [552, 250]
    assert s.of_type(ev.TransactionReset) and not s.of_type(ev.MessageEnd)
    assert sum(len(e.data) for e in s.of_type(ev.MessageChunk)) <= 100  # type: ignore[attr-defined]
    assert s.engine.state is State.GREETED


@pytest.mark.parametrize(
    "end", [b"DATA\r\n" + b"x" * 200 + b"\r\n.\r\n", b"BDAT 200 LAST\r\n" + b"x" * 200]
)
def test_lmtp_over_size_limit_gets_one_552_per_recipient(end: bytes) -> None:
    s = Session(max_message_size=100)
    s.send(LHLO + ENVELOPE + b"RCPT TO:<c@example.test>\r\n")
    codes = [c for c in reply_codes(s.send(end + b"NOOP\r\n")) if c != 354]
    assert codes == [552, 552, 250]
    smtp = Session(Dialect.SMTP, max_message_size=100)
    smtp.send(b"EHLO c\r\n" + ENVELOPE + b"RCPT TO:<c@example.test>\r\n")
    assert [c for c in reply_codes(smtp.send(end + b"NOOP\r\n")) if c != 354] == [552, 250]


def test_bdat_chunks_make_one_message() -> None:
    s = Session()
    s.send(LHLO + ENVELOPE)
    out = s.send(b"BDAT 5\r\nhel\nlBDAT 3 LAST\r\no\r\n")
    assert out == b"250 2.0.0 5 octets received\r\n250 2.0.0 Saved\r\n"
    assert s.messages == [b"hel\nlo\r\n"]  # taken as sent: no dot or line-end processing


def test_bdat_zero_last() -> None:
    s = Session()
    s.send(LHLO + ENVELOPE)
    assert s.codes(b"BDAT 4\r\nabcdBDAT 0 LAST\r\n") == [250, 250]
    assert s.messages == [b"abcd"]


def test_bdat_without_recipients_still_consumes_its_octets() -> None:
    s = Session()
    s.send(LHLO + b"MAIL FROM:<a@x.test>\r\n")
    hidden = b"RCPT TO:<evil@x.test>\r\n"
    out = s.send(b"BDAT %d LAST\r\n" % len(hidden) + hidden)
    assert reply_codes(out) == [503]
    assert not s.of_type(ev.RcptTo)


def test_bdat_over_size_limit() -> None:
    s = Session(max_message_size=10)
    s.send(LHLO + ENVELOPE)
    out = s.send(b"BDAT 8\r\n12345678BDAT 8 LAST\r\n12345678NOOP\r\n")
    assert reply_codes(out) == [250, 552, 250]
    assert not s.of_type(ev.MessageEnd)


def test_smtp_offers_no_binarymime() -> None:
    # Local delivery stores LF line ends, so binary content would not come back as sent;
    # Postfix's smtpd does not offer BINARYMIME either.
    s = Session(Dialect.SMTP)
    assert "BINARYMIME" not in s.send(b"EHLO c\r\n").decode()
    out = s.send(b"MAIL FROM:<a@x.test> BODY=BINARYMIME\r\n")
    assert out == b"555 5.5.4 Unsupported BODY type BINARYMIME\r\n"
    assert not s.of_type(ev.MailFrom)
    assert s.codes(b"MAIL FROM:<a@x.test> BODY=8BITMIME\r\n") == [250]


def test_lmtp_offers_no_binarymime() -> None:
    # Maildir and mbox keep LF line ends: binary content would not come back as sent.
    s = Session()
    assert "BINARYMIME" not in s.send(LHLO).decode()
    out = s.send(b"MAIL FROM:<a@x.test> BODY=BINARYMIME\r\n")
    assert out == b"555 5.5.4 Unsupported BODY type BINARYMIME\r\n"
    assert s.codes(b"MAIL FROM:<a@x.test> BODY=8BITMIME\r\n") == [250]


def test_rset_between_bdat_chunks() -> None:
    s = Session()
    s.send(LHLO + ENVELOPE)
    assert s.codes(b"BDAT 2\r\nabRSET\r\n") == [250, 250]
    assert s.of_type(ev.TransactionReset)
    assert s.codes(b"BDAT 1 LAST\r\nx") == [503]


def test_too_many_recipients() -> None:
    s = Session(settings_extra={"max_recipients": 2})
    s.send(LHLO + b"MAIL FROM:<a@x.test>\r\n")
    assert s.codes(b"RCPT TO:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\n") == [
        250,
        250,
        452,
    ]


def test_overlong_command_line_is_refused_and_skipped() -> None:
    s = Session()
    out = s.send(b"NOOP " + b"x" * (MAX_COMMAND_LINE + 10))
    assert out == b"500 5.5.2 Line too long\r\n"
    assert len(s.engine._in) == 0  # memory is not held
    assert s.send(b"yyy\r\nNOOP\r\n") == b"250 2.0.0 Ok\r\n"


def test_too_many_errors_closes_with_421() -> None:
    s = Session()
    out = s.send(b"BOGUS\r\n" * (MAX_ERRORS + 5))
    assert reply_codes(out) == [500] * MAX_ERRORS + [421]
    assert s.engine.closed


def test_commands_may_end_in_bare_lf() -> None:
    assert Session().codes(b"LHLO c\nNOOP\n") == [250, 250]


def test_engine_pauses_reading_while_waiting_with_much_input() -> None:
    s = Session(decide=None)
    s.send(LHLO + b"MAIL FROM:<a@x.test>\r\n")
    s.send(b"RCPT TO:<b@x.test>\r\n" * 60_000)
    assert s.engine.should_pause_reading
    s.engine.answer(Reply(550, "5.7.1", "No"))  # every RCPT after it is out of sequence
    s.pump()
    assert s.engine.closed  # too many errors
    assert not s.engine.should_pause_reading


def test_transition_table_covers_every_state() -> None:
    assert {state for state, _ in TRANSITIONS} == set(State)


def test_answer_without_a_pending_decision_is_a_bug() -> None:
    from maa.proto.smtp import Settings

    engine = SmtpEngine(Settings(Dialect.LMTP, "h", 10))
    with pytest.raises(RuntimeError):
        engine.answer(Reply(250, "2.0.0", "Ok"))
