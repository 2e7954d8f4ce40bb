"""POP3 as ``maa serve`` runs it: both listeners of [pop3] from the service tree, over a
Maildir another process delivered into."""

from __future__ import annotations

import poplib

from pop3_support import ALICE, message
from support import PASSWORD, RunningServer, client_ssl_context

from maa.storage import open_store
from maa.storage.interface import INBOX


def test_maa_serve_answers_pop3_on_both_listeners(maa_server: RunningServer) -> None:
    store = open_store(f"maildir:{maa_server.maildir('alice')}")
    store.ensure_defaults()
    store.folder(INBOX).append(message(1))

    plain = poplib.POP3("127.0.0.1", maa_server.ports["pop3"], timeout=10)
    assert "STLS" in plain.capa()
    plain.stls(client_ssl_context())
    plain.user(ALICE)
    plain.pass_(PASSWORD)
    _, lines, _ = plain.retr(1)
    assert b"\r\n".join(lines) + b"\r\n" == message(1)
    plain.quit()

    implicit = poplib.POP3_SSL(
        "127.0.0.1", maa_server.ports["pop3s"], timeout=10, context=client_ssl_context()
    )
    implicit.user(ALICE)
    implicit.pass_(PASSWORD)
    assert implicit.stat() == (1, len(message(1)))
    implicit.dele(1)
    assert implicit.quit() == b"+OK Logging out, messages deleted."
    inbox = store.folder(INBOX)
    inbox.refresh()
    assert len(inbox.messages()) == 0
    assert "maa/pop3[" in maa_server.log_text()
