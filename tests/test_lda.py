"""maa.lda: the delivery function every intake path uses, and recipient resolution."""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maa.auth import open_passwd_file
from maa.auth.model import MailUser
from maa.config import Config
from maa.lda import (
    DeliveryResult,
    LocalContext,
    LocalStores,
    StartedDelivery,
    begin_deliver,
    deliver,
    resolve_recipient,
    trace_headers,
)
from maa.storage.interface import INBOX, MailStore

MESSAGE = b"Subject: t\r\nMessage-ID: <id-1@example.test>\r\n\r\nbody\r\n"


@pytest.fixture
def lctx(maa_config: Config) -> LocalContext:
    return LocalContext(maa_config, LocalStores())


def alice(config: Config) -> MailUser:
    user = open_passwd_file(config).lookup("alice@example.test")
    assert user is not None
    return user


def messages(ctx: LocalContext, user: MailUser, folder: str = INBOX) -> list[bytes]:
    box = ctx.stores.open(user).folder(folder)
    return [box.read(m.uid) for m in box.messages()]


@pytest.mark.parametrize(
    ("address", "login", "detail"),
    [
        ("alice@example.test", "alice@example.test", None),
        ("ALICE@Example.Test", "alice@example.test", None),
        ("alice+lists@example.test", "alice@example.test", "lists"),
        ("alice+a+b@example.test", "alice@example.test", "a+b"),
        ("carol", "carol", None),
        ("carol+x", "carol", "x"),
        ("nobody+x@example.test", None, None),
        ("+x@example.test", None, None),
    ],
)
def test_resolve_recipient(
    maa_config: Config, address: str, login: str | None, detail: str | None
) -> None:
    user, got = resolve_recipient(open_passwd_file(maa_config), address, "+")
    assert (user.login if user else None, got) == (login, detail)


def test_resolve_recipient_with_empty_delimiter_disables_details(maa_config: Config) -> None:
    assert resolve_recipient(open_passwd_file(maa_config), "alice+x@example.test", "") == (
        None,
        None,
    )


def test_resolve_recipient_with_several_delimiters(maa_config: Config) -> None:
    user, detail = resolve_recipient(open_passwd_file(maa_config), "alice-x@example.test", "+-")
    assert user is not None and detail == "x"


def test_deliver_streams_headers_then_message(lctx: LocalContext) -> None:
    user = alice(lctx.config)
    result = deliver(
        lctx, user, io.BytesIO(MESSAGE), sender="s@example.test", recipient="alice@example.test"
    )
    assert result.ok and result.folder == INBOX and result.uid == 1
    assert messages(lctx, user) == [trace_headers("s@example.test", "alice@example.test") + MESSAGE]


def test_deliver_from_a_path_and_null_sender(lctx: LocalContext, tmp_path: Path) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(MESSAGE)
    user = alice(lctx.config)
    assert deliver(lctx, user, path, sender="", recipient="alice@example.test").ok
    assert messages(lctx, user)[0].startswith(b"Return-Path: <>\r\n")


def test_header_injection_through_envelope_is_neutralised(lctx: LocalContext) -> None:
    user = alice(lctx.config)
    deliver(
        lctx,
        user,
        io.BytesIO(MESSAGE),
        sender="a@x\r\nBcc: evil@x",
        recipient="alice@example.test",
    )
    (stored,) = messages(lctx, user)
    assert b"\r\nBcc:" not in stored


def test_detail_folder_used_only_when_it_exists(lctx: LocalContext) -> None:
    user = alice(lctx.config)
    sent = deliver(
        lctx, user, io.BytesIO(MESSAGE), sender="s@x", recipient="alice+Sent@example.test"
    )
    other = deliver(
        lctx, user, io.BytesIO(MESSAGE), sender="s@x", recipient="alice+../x@example.test"
    )
    assert (sent.folder, other.folder) == ("Sent", INBOX)


def test_too_large_is_552_534(tmp_path: Path) -> None:
    import support

    from maa.config import load_config

    config = load_config(support.write_config(tmp_path / "etc", mail={"max_message_size": 10}))
    result = deliver(
        LocalContext(config, LocalStores()),
        alice(config),
        io.BytesIO(MESSAGE),
        sender="s@x",
        recipient="alice@example.test",
    )
    assert (result.code, result.status, result.ok) == (552, "5.3.4", False)


def test_storage_failure_is_temporary(lctx: LocalContext) -> None:
    user = alice(lctx.config)
    where = Path(user.mail_location.split(":", 1)[1])
    where.parent.mkdir(parents=True)
    where.write_text("in the way")
    result = deliver(lctx, user, io.BytesIO(MESSAGE), sender="s@x", recipient="alice@example.test")
    assert result.temporary and result.code == 451


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.threads: list[str] = []  # the thread that wrote each line

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self.threads.append(record.threadName or "")


@contextlib.contextmanager
def lmtp_log() -> Iterator[Lines]:
    """The ``maa.lmtp`` lines logged in the block, INFO and above."""
    logger = logging.getLogger("maa.lmtp")
    handler, old_level = Lines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def test_log_line_names_user_msgid_and_folder(lctx: LocalContext) -> None:
    user = alice(lctx.config)
    with lmtp_log() as lines:
        deliver(
            lctx,
            user,
            io.BytesIO(MESSAGE + b"Message-ID: <in-body@x>\r\n"),
            sender="s@example.test",
            recipient="alice@example.test",
            session="S1",
        )
    (line,) = lines.lines
    assert line.startswith("S1: alice@example.test: msgid=<id-1@example.test>, ")
    assert "from=<s@example.test>, to=<alice@example.test>, size=" in line
    assert line.endswith("saved mail to INBOX")


def test_large_message_is_streamed_byte_exact(lctx: LocalContext) -> None:
    from maa.lda import SMALL_MESSAGE

    user = alice(lctx.config)
    big = MESSAGE + b"".join(b"line %d with 8-bit \xc3\xa9\r\n" % i for i in range(40_000))
    assert len(big) > SMALL_MESSAGE * 2
    result = deliver(lctx, user, io.BytesIO(big), sender="s@x", recipient="alice@example.test")
    assert result.ok
    assert messages(lctx, user) == [trace_headers("s@x", "alice@example.test") + big]


def test_delivery_follows_a_folder_deleted_or_renamed_between_deliveries(
    lctx: LocalContext,
) -> None:
    user = alice(lctx.config)
    store = lctx.stores.open(user)
    store.ensure_defaults()
    store.create_folder("lists")
    first = deliver(
        lctx, user, io.BytesIO(MESSAGE), sender="s@x", recipient="alice+lists@example.test"
    )
    assert first.folder == "lists"
    store.rename_folder("lists", "old-lists")
    second = deliver(
        lctx, user, io.BytesIO(MESSAGE), sender="s@x", recipient="alice+lists@example.test"
    )
    assert second.folder == INBOX
    store.create_folder("lists")
    third = deliver(
        lctx, user, io.BytesIO(MESSAGE), sender="s@x", recipient="alice+lists@example.test"
    )
    assert third.folder == "lists"
    assert len(messages(lctx, user, "lists")) == 1
    assert len(messages(lctx, user, "old-lists")) == 1
    assert len(messages(lctx, user, INBOX)) == 1


def test_trace_headers_cannot_be_split_by_envelope_text() -> None:
    block = trace_headers("a\r\nX-Evil: 1@x", "b\nc\0d@example.test")
    assert block == b"Return-Path: <a  X-Evil: 1@x>\r\nDelivered-To: b c d@example.test\r\n"


def outcome_of(started: StartedDelivery) -> DeliveryResult:
    """Wait for a begun delivery's save, then read its outcome here."""
    started.saving.result(30)
    return started.outcome()


class KeptStores:
    """One store per user for the whole test, as the server's ``StoreCache`` keeps them."""

    def __init__(self) -> None:
        self._stores: dict[str, MailStore] = {}
        self._open = LocalStores()

    def open(self, user: MailUser) -> MailStore:
        if user.login not in self._stores:
            self._stores[user.login] = self._open.open(user)
        return self._stores[user.login]


def test_begin_deliver_waits_for_a_first_delivery_to_open_the_folder(
    maa_config: Config,
) -> None:
    ctx = LocalContext(maa_config, KeptStores())
    user = alice(maa_config)
    args: dict[str, Any] = {"sender": "s@x", "recipient": "alice@example.test", "session": "S1"}
    # Nothing opened yet: opening may create the mailbox, which is not for an event loop.
    assert begin_deliver(ctx, user, MESSAGE, **args) is None
    assert not Path(user.mail_location.split(":", 1)[1]).exists()
    assert deliver(ctx, user, io.BytesIO(MESSAGE), **args).ok
    started = begin_deliver(ctx, user, MESSAGE, extra_headers=b"Received: x\r\n", **args)
    assert started is not None
    result = outcome_of(started)
    assert (result.code, result.folder) == (250, INBOX)
    assert result.uid is not None
    box = ctx.stores.open(user).folder(INBOX)
    assert box.read(result.uid) == (
        trace_headers("s@x", "alice@example.test") + b"Received: x\r\n" + MESSAGE
    )


def test_begin_deliver_refuses_too_large_and_leaves_unopened_details_to_deliver(
    tmp_path: Path,
) -> None:
    import support

    from maa.config import load_config

    config = load_config(support.write_config(tmp_path / "etc", mail={"max_message_size": 60}))
    ctx = LocalContext(config, KeptStores())
    user = alice(config)
    assert deliver(ctx, user, io.BytesIO(b"Subject: s\r\n\r\n"), sender="", recipient="alice").ok
    started = begin_deliver(ctx, user, MESSAGE * 3, sender="s@x", recipient="alice@example.test")
    assert started is not None
    assert outcome_of(started).code == 552
    # A +detail folder not opened by an earlier delivery: ``deliver`` finds out if it exists.
    ctx.stores.open(user).create_folder("lists")
    assert begin_deliver(ctx, user, MESSAGE, sender="s@x", recipient="alice+lists@x") is None
    assert deliver(ctx, user, io.BytesIO(MESSAGE), sender="", recipient="alice+lists@x").folder == (
        "lists"
    )
    started = begin_deliver(ctx, user, MESSAGE, sender="s@x", recipient="alice+lists@x")
    assert started is not None and outcome_of(started).folder == "lists"


def test_begin_deliver_hands_back_a_folder_removed_since_it_was_opened(
    maa_config: Config,
) -> None:
    """A kept folder that was deleted, renamed or removed from outside: nothing is saved and
    ``deliver`` (which opens the folder anew) is left to do it."""
    import shutil

    ctx = LocalContext(maa_config, KeptStores())
    user = alice(maa_config)
    store = ctx.stores.open(user)
    store.ensure_defaults()
    store.create_folder("lists")
    lists = {"sender": "s@x", "recipient": "alice+lists@example.test"}
    assert deliver(ctx, user, io.BytesIO(MESSAGE), **lists).folder == "lists"
    store.rename_folder("lists", "old-lists")
    assert begin_deliver(ctx, user, MESSAGE, **lists) is None
    assert deliver(ctx, user, io.BytesIO(MESSAGE), **lists).folder == INBOX
    assert len(messages(ctx, user, "old-lists")) == 1
    # INBOX removed by hand while its handle is kept: made again by the next ``deliver``.
    shutil.rmtree(Path(user.mail_location.split(":", 1)[1]))
    assert begin_deliver(ctx, user, MESSAGE, sender="s@x", recipient="alice@example.test") is None
    assert deliver(ctx, user, io.BytesIO(MESSAGE), sender="s@x", recipient="alice").ok
    started = begin_deliver(ctx, user, MESSAGE, sender="s@x", recipient="alice@example.test")
    assert started is not None and outcome_of(started).ok
    assert len(messages(ctx, user)) == 2


def test_begin_deliver_logs_in_the_thread_that_reads_the_outcome(maa_config: Config) -> None:
    """The thread that synced the batch only finishes ``saving``: the log line is written
    by ``outcome()``, in the caller's thread, and it is written once."""
    ctx = LocalContext(maa_config, KeptStores())
    user = alice(maa_config)
    args: dict[str, Any] = {"sender": "s@x", "recipient": "alice@example.test", "session": "S1"}
    assert deliver(ctx, user, io.BytesIO(MESSAGE), **args).ok
    with lmtp_log() as log:
        started = begin_deliver(ctx, user, MESSAGE, **args)
        assert started is not None
        uid = started.saving.result(30)
        assert log.lines == []
        result = started.outcome()
    assert (result.code, result.uid) == (250, uid)
    (line,) = log.lines
    assert line.endswith("saved mail to INBOX")
    assert log.threads == [threading.current_thread().name]
