"""Debian's Postfix hands mail to maa's LMTP, as in a real Postfix + maa setup.

Postfix runs from a private config directory (its own queue, loopback ports, no chroot),
with ``virtual_transport = lmtp:inet:127.0.0.1:<maa>`` or ``lmtp:unix:<maa's socket>``;
swaks submits through Postfix's smtpd; the mail must land in maa's Maildirs, an alias
reaching two users in one LMTP transaction (per-recipient replies from a real LMTP client).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
import support

from maa.context import ServerContext

pytestmark = pytest.mark.integration

POSTFIX = shutil.which("postfix")
SWAKS = shutil.which("swaks")

MASTER_CF = """\
{port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = example.test
virtual_alias_maps = texthash:{root}/etc/virtual
virtual_transport = {transport}
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtp_dns_support_level = disabled
lmtp_host_lookup = native
biff = no
"""


def postfix(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert POSTFIX is not None
    return subprocess.run(
        [POSTFIX, "-c", str(root / "etc"), *args], capture_output=True, text=True, timeout=60
    )


def maillog(root: Path) -> str:
    path = root / "maillog"
    return path.read_text(errors="replace") if path.exists() else "(no maillog)"


@pytest.fixture(params=["inet", "unix"])
def postfix_to_maa(
    ctx: ServerContext, request: pytest.FixtureRequest
) -> Iterator[tuple[int, Path, str]]:
    """(Postfix's smtpd port, its directory, its virtual_transport), relaying example.test
    to maa's LMTP over TCP (``lmtp:inet:``) or over maa's UNIX socket (``lmtp:unix:``)."""
    if POSTFIX is None or SWAKS is None:
        pytest.skip("postfix or swaks is not installed (apt-get install postfix swaks)")
    if os.geteuid() != 0:
        pytest.skip("Postfix's master must start as root (it drops to mail_owner itself)")
    from twisted.internet import defer, reactor

    from maa.lmtp.server import build_factory

    smtp_port = support.free_port()
    # Postfix drops to mail_owner for some files, so its tree must be reachable by that user:
    # not under pytest's private (0700) tmp_path.
    root = Path(tempfile.mkdtemp(prefix="maa-postfix-"))
    root.chmod(0o755)
    unix_port: Any = None
    if request.param == "unix":
        socket_path = root / "lmtp.sock"  # Postfix's lmtp(8) runs as postfix: mode 0666
        factory = build_factory(ctx, implicit_tls=False)
        unix_port = reactor.listenUNIX(str(socket_path), factory)
        transport = f"lmtp:unix:{socket_path}"
    else:
        lmtp_port = support.listen(build_factory(ctx, implicit_tls=False))
        transport = f"lmtp:inet:127.0.0.1:{lmtp_port}"
    for sub in ("etc", "queue", "data"):
        (root / sub).mkdir(parents=True)
    shutil.chown(root / "data", "postfix", "postfix")
    (root / "etc" / "main.cf").write_text(MAIN_CF.format(root=root, transport=transport))
    (root / "etc" / "master.cf").write_text(MASTER_CF.format(port=f"127.0.0.1:{smtp_port}"))
    (root / "etc" / "virtual").write_text(
        "team@example.test alice@example.test, bob@example.test\n"
    )
    check = postfix(root, "check")
    assert check.returncode == 0, maillog(root)
    started = postfix(root, "start")
    assert started.returncode == 0, maillog(root)
    try:
        deadline = time.monotonic() + 20
        while not support._accepts(smtp_port):
            assert time.monotonic() < deadline, "postfix smtpd did not start"
            time.sleep(0.1)
        yield smtp_port, root, transport
    finally:
        postfix(root, "stop")
        if unix_port is not None:
            pytest_twisted.blockon(defer.maybeDeferred(unix_port.stopListening))
        shutil.rmtree(root, ignore_errors=True)


def swaks(port: int, to: str, subject: str) -> subprocess.CompletedProcess[str]:
    assert SWAKS is not None
    return subprocess.run(
        [
            SWAKS,
            "--server",
            f"127.0.0.1:{port}",
            "--from",
            "sender@example.net",
            "--to",
            to,
            "--header",
            f"Subject: {subject}",
            "--body",
            "Relayed by Postfix to maa over LMTP.",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def wait_for_mail(ctx: ServerContext, login: str, count: int, timeout: float = 20) -> list[bytes]:
    user = ctx.userdb.lookup(login)
    assert user is not None
    store = ctx.stores.open(user)
    deadline = time.monotonic() + timeout
    while True:
        store.ensure_defaults()
        box = store.folder("INBOX")
        box.refresh()
        found = [box.read(m.uid) for m in box.messages()]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest_twisted.inlineCallbacks
def test_postfix_delivers_through_maa_lmtp(
    ctx: ServerContext, postfix_to_maa: tuple[int, Path, str]
) -> Any:
    from twisted.internet import threads

    port, root, transport = postfix_to_maa
    for to, subject in [
        ("alice@example.test", "direct"),
        ("team@example.test", "alias"),
        ("nobody@example.test", "unknown"),
    ]:
        sent = yield threads.deferToThread(swaks, port, to, subject)
        assert sent.returncode == 0, sent.stdout + sent.stderr

    alice = yield threads.deferToThread(wait_for_mail, ctx, "alice@example.test", 2)
    bob = yield threads.deferToThread(wait_for_mail, ctx, "bob@example.test", 1)
    subjects = sorted(m.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0] for m in alice)
    assert subjects == [b"alias", b"direct"]
    (to_bob,) = bob
    assert b"Subject: alias" in to_bob
    assert b"Delivered-To: bob@example.test\r\n" in to_bob
    assert b"Return-Path: <sender@example.net>\r\n" in to_bob
    assert b"by mx.example.test (Postfix) with ESMTP" in to_bob  # Postfix's own Received
    assert b"\tby mail.example.test (maa) with LMTP id " in to_bob  # and maa's
    assert b"Relayed by Postfix to maa over LMTP." in to_bob

    def lmtp_id(message: bytes) -> bytes:
        return message.split(b" with LMTP id ", 1)[1].split(b"\r\n", 1)[0]

    # Both copies of the alias came over one LMTP session: Postfix hands maa the recipients
    # of one queue file in one transaction and reads a reply for each.
    (alias_to_alice,) = [m for m in alice if b"Subject: alias" in m]
    assert lmtp_id(alias_to_alice) == lmtp_id(to_bob)

    def bounced() -> str:
        deadline = time.monotonic() + 20
        while "status=bounced" not in maillog(root) and time.monotonic() < deadline:
            time.sleep(0.1)
        return maillog(root)

    log = yield threads.deferToThread(bounced)
    (line,) = [x for x in log.splitlines() if "to=<nobody@example.test>" in x]
    assert "status=bounced" in line and "said: 550 5.1.1 <nobody@example.test>" in line
    assert log.count("status=sent (250 2.0.0 <") == 3, log
    relays = {x.split(" relay=", 1)[1].split(",", 1)[0] for x in log.splitlines() if "sent (" in x}
    expected = transport.rsplit(":", 1)[1] if "unix" in transport else "127.0.0.1"
    assert len(relays) == 1 and expected in relays.pop(), log
