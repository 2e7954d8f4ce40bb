"""Real IMAP clients from Debian against an in-process maa (Maildir driver): mbsync two-way
sync with flag changes both ways, curl over STARTTLS, and s-nail in batch mode."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import pytest_twisted
from support import listen
from twisted.internet import threads

from maa.context import ServerContext
from maa.storage.interface import FLAGGED, SEEN, MailStore

pytestmark = pytest.mark.integration

ALICE = "alice@example.test"


def need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.skip(f"{program} is not installed (Debian package needed for this test)")
    return path


def alice_store(ctx: ServerContext) -> MailStore:
    user = ctx.userdb.lookup(ALICE)
    assert user is not None
    store = ctx.stores.open(user)
    store.ensure_defaults()
    return store


def imap_port(ctx: ServerContext) -> int:
    from maa.imap.server import build_factory

    return listen(build_factory(ctx, implicit_tls=False))


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False, **kwargs)  # type: ignore[call-overload,no-any-return]


def local_files(folder: Path) -> dict[bytes, str]:
    """Subject line -> Maildir info flags of each message in a local Maildir."""
    out: dict[bytes, str] = {}
    for sub in ("new", "cur"):
        for path in (folder / sub).iterdir():
            subject = next(
                line for line in path.read_bytes().splitlines() if line.startswith(b"Subject:")
            )
            out[subject] = path.name.partition(":2,")[2]
    return out


def subjects(store: MailStore, name: str) -> dict[bytes, frozenset[str]]:
    folder = store.folder(name)
    out = {}
    for info in folder.messages():
        header = folder.read(info.uid).split(b"\r\n\r\n")[0]
        subject = next(line for line in header.split(b"\r\n") if line.startswith(b"Subject:"))
        out[subject] = info.flags
    return out


@pytest_twisted.inlineCallbacks
def test_mbsync_two_way_sync_with_flags(ctx: ServerContext, tmp_path: Path) -> None:
    mbsync = need("mbsync")
    store = alice_store(ctx)
    store.folder("INBOX").append(b"Subject: one\r\n\r\nbody one\r\n")
    store.folder("Sent").append(b"Subject: two\r\n\r\nbody two\r\n", [SEEN])
    store.create_folder("Projects.2024")
    store.folder("Projects.2024").append(b"Subject: three\r\n\r\nbody three\r\n", ["$Label1"])
    port = imap_port(ctx)
    local = tmp_path / "local"
    local.mkdir()
    rc = tmp_path / "mbsyncrc"
    rc.write_text(
        f"IMAPAccount maa\nHost 127.0.0.1\nPort {port}\nUser {ALICE}\nPass secret\n"
        f"SSLType STARTTLS\nCertificateFile {ctx.config.tls.cert}\n\n"
        "IMAPStore remote\nAccount maa\n\n"
        f"MaildirStore local\nPath {local}/\nInbox {local}/INBOX\nSubFolders Verbatim\n\n"
        "Channel sync\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\n"
        "Expunge Both\nSyncState *\n"
    )

    def sync() -> None:
        result = run([mbsync, "-c", str(rc), "-a"])
        assert result.returncode == 0, result.stdout + result.stderr

    yield threads.deferToThread(sync)
    assert local_files(local / "INBOX") == {b"Subject: one": ""}
    assert local_files(local / "Sent") == {b"Subject: two": "S"}
    assert set(local_files(local / "Projects" / "2024")) == {b"Subject: three"}
    assert (local / "Drafts").is_dir() and (local / "Trash").is_dir()

    # Local changes: read the INBOX message, file a new message into Projects.2024.
    [inbox_file] = list((local / "INBOX" / "new").iterdir())
    inbox_file.rename(local / "INBOX" / "cur" / (inbox_file.name.partition(":2,")[0] + ":2,S"))
    (local / "Projects" / "2024" / "new" / "1.local.x").write_bytes(
        b"Subject: local\n\nwritten offline\n"
    )
    # Server changes: flag the Sent message, a new delivery.
    sent = store.folder("Sent")
    sent.store_flags([sent.messages()[0].uid], [FLAGGED], "add")
    store.folder("INBOX").append(b"Subject: four\r\n\r\nbody four\r\n")

    yield threads.deferToThread(sync)
    assert subjects(store, "INBOX") == {
        b"Subject: one": frozenset({SEEN}),
        b"Subject: four": frozenset(),
    }
    assert set(subjects(store, "Projects.2024")) == {b"Subject: three", b"Subject: local"}
    assert local_files(local / "Sent") == {b"Subject: two": "FS"}
    assert set(local_files(local / "INBOX")) == {b"Subject: one", b"Subject: four"}

    # A local deletion propagates: mark it trashed, mbsync expunges both sides.
    project = local / "Projects" / "2024"
    [three] = [
        p
        for p in [*(project / "cur").iterdir(), *(project / "new").iterdir()]
        if b"three" in p.read_bytes()
    ]
    three.rename(three.with_name(three.name.partition(":2,")[0] + ":2,T"))
    yield threads.deferToThread(sync)
    assert set(subjects(store, "Projects.2024")) == {b"Subject: local"}


@pytest_twisted.inlineCallbacks
def test_curl_lists_and_fetches_over_starttls(ctx: ServerContext) -> None:
    curl = need("curl")
    store = alice_store(ctx)
    store.folder("INBOX").append(b"Subject: via curl\r\n\r\nhello curl\r\n")
    port = imap_port(ctx)
    base = f"imap://127.0.0.1:{port}"
    auth = ["--ssl-reqd", "-k", "-s", "-S", "--user", f"{ALICE}:secret"]

    def client() -> tuple[str, str]:
        listing = run([curl, *auth, f"{base}/"])
        assert listing.returncode == 0, listing.stderr
        fetched = run([curl, *auth, f"{base}/INBOX;UID=1"])
        assert fetched.returncode == 0, fetched.stderr
        return listing.stdout, fetched.stdout

    listing, fetched = yield threads.deferToThread(client)
    assert '"." INBOX' in listing and "\\Sent" in listing
    assert fetched.replace("\r\n", "\n") == "Subject: via curl\n\nhello curl\n"


@pytest_twisted.inlineCallbacks
def test_s_nail_lists_the_inbox_in_batch_mode(ctx: ServerContext, tmp_path: Path) -> None:
    snail = need("s-nail")
    store = alice_store(ctx)
    for n in range(3):
        store.folder("INBOX").append(
            b"From: bob@example.test\r\nSubject: batch %d\r\n\r\nbody\r\n" % n
        )
    port = imap_port(ctx)
    env = dict(os.environ, HOME=str(tmp_path), MAILRC="/dev/null", NAILRC="/dev/null")
    url = f"imap://alice%40example.test:secret@127.0.0.1:{port}"

    def client() -> subprocess.CompletedProcess[str]:
        return run(
            [
                snail, "-#", "-n",
                "-S", "v15-compat", "-S", "imap-use-starttls",
                "-S", "tls-verify=ignore",
                "-S", "headline=%>%a%m %-18f %s",
                "-f", f"{url}/INBOX",
            ],
            input="headers\nquit\n",
            env=env,
        )  # fmt: skip

    result = yield threads.deferToThread(client)
    assert result.returncode == 0, result.stdout + result.stderr
    for n in range(3):
        assert f"batch {n}" in result.stdout, result.stdout + result.stderr
