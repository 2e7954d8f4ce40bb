"""Every RFC 3501 command through Python's imaplib, over a real socket."""

from __future__ import annotations

import imaplib
import re
import time

import pytest
import pytest_twisted
from clients import ALICE, MESSAGE, MULTIPART, RawClient, login, ok
from support import PASSWORD
from twisted.internet import threads

from maa.proto.imap import limits


def in_thread(fn):  # type: ignore[no-untyped-def]
    return threads.deferToThread(fn)


@pytest_twisted.inlineCallbacks
def test_greeting_capability_login_logout(imap_port: int) -> None:
    def client() -> None:
        m = imaplib.IMAP4("127.0.0.1", imap_port, timeout=10)
        caps = ok(m.capability())[0]
        assert isinstance(caps, bytes)
        for cap in (b"IMAP4rev1", b"IDLE", b"UIDPLUS", b"MOVE", b"LITERAL+", b"SASL-IR",
                    b"AUTH=PLAIN", b"STARTTLS", b"SPECIAL-USE", b"NAMESPACE", b"ID", b"ENABLE",
                    b"UNSELECT", b"CHILDREN"):  # fmt: skip
            assert cap in caps.split()
        assert b"LOGINDISABLED" not in caps  # loopback: plaintext allowed
        data = ok(m.login(ALICE, PASSWORD))
        assert b"[CAPABILITY IMAP4rev1" in data[0]  # type: ignore[operator]
        assert b"AUTH=PLAIN" not in ok(m.capability())[0]  # type: ignore[operator]
        assert m.logout()[0] == "BYE"

    yield in_thread(client)


@pytest_twisted.inlineCallbacks
def test_wrong_password_is_refused(imap_port: int) -> None:
    def client() -> None:
        m = imaplib.IMAP4("127.0.0.1", imap_port, timeout=10)
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            m.login(ALICE, "wrong")
        ok(m.login(ALICE, PASSWORD))  # the session goes on
        m.logout()

    yield in_thread(client)


@pytest_twisted.inlineCallbacks
def test_authenticate_plain_and_login(imap_port: int) -> None:
    def client() -> None:
        m = imaplib.IMAP4("127.0.0.1", imap_port, timeout=10)
        ok(m.authenticate("PLAIN", lambda _: f"\0{ALICE}\0{PASSWORD}".encode()))
        m.logout()
        m = imaplib.IMAP4("127.0.0.1", imap_port, timeout=10)
        answers = iter([ALICE.encode(), PASSWORD.encode()])
        ok(m.authenticate("LOGIN", lambda _: next(answers)))
        m.logout()

    yield in_thread(client)


@pytest_twisted.inlineCallbacks
def test_sasl_ir_and_cancel(imap_port: int) -> None:
    def client() -> None:
        import base64

        raw = RawClient(imap_port)
        raw.send(b"a AUTHENTICATE PLAIN\r\n")
        assert raw.line() == b"+ "
        raw.send(b"*\r\n")
        assert raw.line().startswith(b"a BAD")
        token = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode())
        assert raw.command(b"b", b"AUTHENTICATE PLAIN " + token)[-1].startswith(b"b OK")
        raw.close()

    yield in_thread(client)


@pytest_twisted.inlineCallbacks
def test_list_lsub_special_use_children(imap_port: int) -> None:
    def client() -> None:
        m = login(imap_port)
        ok(m.create("Archive.2024"))
        lines = ok(m.list())
        text = b"\n".join(lines)  # type: ignore[arg-type]
        assert b'(\\HasNoChildren) "." INBOX' in text
        assert b'(\\HasNoChildren \\Sent) "." Sent' in text
        assert b'(\\HasNoChildren \\Trash) "." Trash' in text
        assert b'(\\HasNoChildren \\Drafts) "." Drafts' in text
        assert b'(\\HasNoChildren \\Junk) "." Junk' in text
        assert b'(\\HasChildren) "." Archive' in text
        assert b'(\\HasNoChildren) "." Archive.2024' in text
        top = ok(m.list('""', "%"))
        assert not any(b"Archive.2024" in line for line in top)  # type: ignore[operator]
        empty = ok(m.list('""', '""'))
        assert empty == [b'(\\Noselect) "." ""']
        subscribed = b"\n".join(ok(m.lsub()))  # type: ignore[arg-type]
        assert b"Sent" in subscribed and b"Archive" not in subscribed
        ok(m.subscribe("Archive.2024"))
        assert b"Archive.2024" in b"\n".join(ok(m.lsub('""', "*")))  # type: ignore[arg-type]
        assert ok(m.lsub('""', "%")).count(b'(\\Noselect) "." Archive') == 1  # RFC 3501 6.3.9
        ok(m.unsubscribe("Archive.2024"))
        assert b"Archive.2024" not in b"\n".join(ok(m.lsub('""', "*")))  # type: ignore[arg-type]
        m.logout()

    yield in_thread(client)


@pytest_twisted.inlineCallbacks
def test_create_rename_delete_and_utf7_names(imap_port: int) -> None:
    def client() -> None:
        m = login(imap_port)
        ok(m.create("Entw&APw-rfe"))  # "Entwürfe" in modified UTF-7
        assert any(b"Entw&APw-rfe" in line for line in ok(m.list()))  # type: ignore[operator]
        assert m.create("Entw&APw-rfe")[0] == "NO"
        ok(m.rename("Entw&APw-rfe", "Old.Drafts"))
        names = b"\n".join(ok(m.list()))  # type: ignore[arg-type]
        assert b"Old.Drafts" in names and b"Entw&APw-rfe" not in names
        ok(m.delete("Old.Drafts"))
        status, data = m.delete("Nope")
        assert status == "NO" and b"NONEXISTENT" in data[0]  # type: ignore[operator]
        assert m.delete("INBOX")[0] == "NO"
        status, data = m.create("../../etc")
        assert status == "NO", data  # no name escapes the mail root
        m.logout()

    yield in_thread(client)


@pytest_twisted.inlineCallbacks
def test_rename_inbox_moves_messages(imap_port: int) -> None:
    def client() -> None:
        m = login(imap_port)
        ok(m.append("INBOX", None, None, MESSAGE))
        ok(m.rename("INBOX", "Saved"))
        assert ok(m.status("INBOX", "(MESSAGES)")) == [b"INBOX (MESSAGES 0)"]
        assert ok(m.status("Saved", "(MESSAGES)")) == [b"Saved (MESSAGES 1)"]
        m.logout()

    yield in_thread(client)


@pytest_twisted.inlineCallbacks
def test_append_select_examine_status(imap_port: int) -> None:
    def client() -> None:
        m = login(imap_port)
        date = imaplib.Time2Internaldate(time.mktime((2024, 3, 5, 10, 0, 0, 0, 0, -1)))
        data = ok(m.append("INBOX", "(\\Seen $Label1)", date, MESSAGE))
        assert re.match(rb"\[APPENDUID \d+ 1\]", data[0])  # type: ignore[arg-type]
        ok(m.append("INBOX", None, None, MULTIPART))
        status, data = m.append("Nope", None, None, MESSAGE)
        assert status == "NO" and b"TRYCREATE" in data[0]  # type: ignore[operator]
        assert ok(m.status("INBOX", "(MESSAGES RECENT UIDNEXT UNSEEN UIDVALIDITY)"))[0]
        assert ok(m.select("INBOX")) == [b"2"]
        assert m.untagged_responses.get("FLAGS")
        assert b"\\*" in m.untagged_responses["OK"][0] or any(
            b"PERMANENTFLAGS" in x and b"\\*" in x for x in m.untagged_responses.get("OK", [])
        )
        assert m.untagged_responses.get("UIDVALIDITY")
        assert m.untagged_responses.get("UIDNEXT") == [b"3"]
        assert m.untagged_responses.get("UNSEEN") == [b"2"]
        _typ, data = m.fetch("1", "(FLAGS INTERNALDATE)")
        assert b"$Label1" in data[0] and b"\\Seen" in data[0]  # type: ignore[operator]
        assert imaplib.Internaldate2tuple(data[0])[:6] == (2024, 3, 5, 10, 0, 0)  # type: ignore[arg-type,index]
        ok(m.close())
        status, data = m.select("INBOX", readonly=True)
        assert status == "OK"
        assert m.store("1", "+FLAGS", "\\Flagged")[0] == "NO"
        assert m.select("Nope")[0] == "NO"
        m.state = "SELECTED"  # imaplib would refuse; the server must
        with pytest.raises(imaplib.IMAP4.error, match="No mailbox selected"):
            m.fetch("1", "FLAGS")  # a failed SELECT leaves selected state
        m.logout()

    yield in_thread(client)


@pytest_twisted.inlineCallbacks
def test_fetch_items(imap_port: int) -> None:
    def client() -> None:
        m = login(imap_port)
        ok(m.append("INBOX", None, None, MESSAGE))
        ok(m.append("INBOX", None, None, MULTIPART))
        ok(m.select("INBOX"))
        data = ok(m.fetch("1", "(UID RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY)"))
        first = data[0]
        assert isinstance(first, bytes)
        assert b"UID 1" in first and b"RFC822.SIZE %d" % len(MESSAGE) in first
        assert b'"<1@example.test>"' in first  # ENVELOPE message-id
        assert b'BODYSTRUCTURE ("text" "plain"' in first
        data = ok(m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (Subject X-Tag)] RFC822.HEADER)"))
        parts = [x for x in data if isinstance(x, tuple)]
        assert (
            parts[0][1] == b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= from Bob\r\nX-Tag: blue\r\n\r\n"
        )
        assert parts[1][1] == MESSAGE.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
        data = ok(m.fetch("1", "(BODY.PEEK[]<6.10> BODY.PEEK[TEXT] RFC822.TEXT)"))
        parts = [x for x in data if isinstance(x, tuple)]
        assert parts[0][1] == MESSAGE[6:16] and b"BODY[]<6>" in parts[0][0]
        assert parts[1][1] == b"Hello Alice,\r\nthe quick brown fox.\r\n"
        assert parts[2][1] == parts[1][1]
        data = ok(m.fetch("2", "(BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[2.MIME] BODYSTRUCTURE)"))
        parts = [x for x in data if isinstance(x, tuple)]
        assert parts[0][1] == b"first part zebra"
        assert parts[1][1] == b"AAECAw=="
        assert parts[2][1].startswith(b"Content-Type: application/octet-stream")
        # Macros
        assert b"ENVELOPE" in ok(m.fetch("1", "ALL"))[0]  # type: ignore[operator]
        assert b"BODY (" in ok(m.fetch("1", "FULL"))[0]  # type: ignore[operator]
        assert b"RFC822.SIZE" in ok(m.fetch("1:*", "FAST"))[1]  # type: ignore[operator]
        # PEEK left \Seen alone; BODY[] and RFC822 set it and report FLAGS
        assert b"\\Seen" not in ok(m.fetch("2", "FLAGS"))[0]  # type: ignore[operator]
        assert b"\\Seen" in ok(m.fetch("1", "FLAGS"))[0]  # RFC822.TEXT is not a PEEK
        data = ok(m.fetch("1", "BODY[]"))
        assert data[0][1] == MESSAGE  # type: ignore[index]
        data = ok(m.fetch("2", "RFC822"))
        assert data[0][1] == MULTIPART  # type: ignore[index]
        assert b"\\Seen" in b"".join(x if isinstance(x, bytes) else x[0] for x in data)  # type: ignore[misc]
        assert b"\\Seen" in ok(m.fetch("2", "FLAGS"))[0]  # type: ignore[operator]
        with pytest.raises(imaplib.IMAP4.error, match="Invalid message sequence"):
            m.fetch("3", "FLAGS")  # beyond the last sequence number
        assert ok(m.uid("FETCH", "99", "FLAGS")) == [None]  # an absent UID is just absent
        m.logout()

    yield in_thread(client)


@pytest_twisted.inlineCallbacks
def test_store_flags_and_keywords(imap_port: int) -> None:
    def client() -> None:
        m = login(imap_port)
        for _ in range(3):
            ok(m.append("INBOX", None, None, MESSAGE))
        ok(m.select("INBOX"))
        data = ok(m.store("1:2", "+FLAGS", "(\\Flagged $Junk)"))
        assert len(data) == 2 and b"$Junk" in data[0]  # type: ignore[operator]
        assert ok(m.store("1", "-FLAGS.SILENT", "$Junk")) == [None]
        assert b"$Junk" not in ok(m.fetch("1", "FLAGS"))[0]  # type: ignore[operator]
        data = ok(m.uid("STORE", "3", "FLAGS", "(\\Answered $Label1)"))
        assert b"UID 3" in data[0] and b"$Label1" in data[0]  # type: ignore[operator]
        with pytest.raises(imaplib.IMAP4.error, match="Invalid system flag"):
            m.store("1", "+FLAGS", "(\\Bogus)")
        ok(m.select("INBOX"))
        flags = m.untagged_responses["FLAGS"][0]
        assert b"$Label1" in flags and b"$Junk" in flags
        m.logout()

    yield in_thread(client)


@pytest_twisted.inlineCallbacks
def test_copy_move_expunge_close_unselect(imap_port: int) -> None:
    def client() -> None:
        m = login(imap_port)
        for _ in range(5):
            ok(m.append("INBOX", None, None, MESSAGE))
        ok(m.select("INBOX"))
        data = ok(m.copy("1:2", "Trash"))
        assert re.match(rb"\[COPYUID \d+ 1:2 1:2\]", data[0])  # type: ignore[arg-type]
        assert m.copy("1", "Nope")[1][0].startswith(b"[TRYCREATE]")  # type: ignore[union-attr]
        typ, data = m.uid("MOVE", "2", "Junk")
        assert typ == "OK"
        assert m.untagged_responses.pop("EXPUNGE", None) == [b"2"] or True
        assert ok(m.status("Junk", "(MESSAGES)")) == [b"Junk (MESSAGES 1)"]
        ok(m.store("1", "+FLAGS", "\\Deleted"))
        ok(m.store("2", "+FLAGS", "\\Deleted"))
        typ, data = m.uid("EXPUNGE", "1")  # UIDPLUS: only UID 1 although UID 3 is \Deleted
        assert typ == "OK"
        assert m.select("INBOX")[1] == [b"3"]
        ok(m.expunge())
        assert m.select("INBOX")[1] == [b"2"]
        ok(m.store("1", "+FLAGS", "\\Deleted"))
        ok(m.unselect())  # UNSELECT does not expunge
        assert m.select("INBOX")[1] == [b"2"]
        ok(m.close())  # CLOSE does
        assert ok(m.status("INBOX", "(MESSAGES)")) == [b"INBOX (MESSAGES 1)"]
        m.logout()

    yield in_thread(client)


@pytest_twisted.inlineCallbacks
def test_namespace_id_enable_noop_check(imap_port: int) -> None:
    def client() -> None:
        imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))
        m = login(imap_port)
        assert ok(m.namespace()) == [b'(("" ".")) NIL NIL']
        typ, _data = m._simple_command("ID", '("name" "imaplib")')
        assert typ == "OK" and m.untagged_responses["ID"][0].startswith(b'("name" "maa"')
        typ, _ = m._simple_command("ENABLE", "UTF8=ACCEPT")
        assert typ == "OK"
        ok(m.noop())
        ok(m.select("INBOX"))
        assert ok(m.fetch("1:*", "FLAGS")) == [None]  # an empty mailbox: nothing, no error
        ok(m.check())
        m.logout()

    yield in_thread(client)


@pytest_twisted.inlineCallbacks
def test_malformed_commands_get_bad_and_the_session_goes_on(imap_port: int) -> None:
    def client() -> None:
        raw = RawClient(imap_port)
        for tag, line in (
            (b"a1", b"a1 FROB"),
            (b"a2", b"a2 FETCH"),
            (b"a3", b'a3 LOGIN "x'),
            (b"a4", b"a4 SELECT INBOX"),
            (b"*", b"((("),
        ):
            raw.send(line + b"\r\n")
            reply = raw.until_tagged(tag)[-1]
            assert b" BAD " in reply, reply
        assert raw.command(b"b1", b"NOOP") == [b"b1 OK NOOP completed"]
        raw.send(b"b2 LOGIN {%d}\r\n" % (limits.MAX_SMALL_LITERAL + 1))
        assert raw.line().startswith(b"b2 BAD")
        assert raw.command(b"b3", b"LOGIN alice@example.test secret")[-1].startswith(b"b3 OK")
        raw.close()

    yield in_thread(client)


@pytest_twisted.inlineCallbacks
def test_too_many_bad_commands_disconnect(imap_port: int) -> None:
    def client() -> None:
        raw = RawClient(imap_port)
        raw.send(b"x FROB\r\n" * 25)
        lines = []
        with pytest.raises(ConnectionError):
            while True:
                lines.append(raw.line())
        assert lines[-1].startswith(b"* BYE")

    yield in_thread(client)


@pytest_twisted.inlineCallbacks
def test_literal_plus_and_synchronising_literals(imap_port: int) -> None:
    def client() -> None:
        raw = RawClient(imap_port)
        raw.send(b"a LOGIN {18}\r\n")
        assert raw.line().startswith(b"+ ")
        raw.send(b"alice@example.test {6+}\r\nsecret\r\n")
        assert raw.until_tagged(b"a")[-1].startswith(b"a OK")
        raw.send(b"b APPEND INBOX (\\Seen) {%d+}\r\n%s\r\n" % (len(MESSAGE), MESSAGE))
        assert raw.until_tagged(b"b")[-1].startswith(b"b OK [APPENDUID")
        raw.close()

    yield in_thread(client)
