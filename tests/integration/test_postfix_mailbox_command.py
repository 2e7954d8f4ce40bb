"""Debian's Postfix delivering locally through ``mailbox_command = maa deliver ...``.

The set-up of a host where Postfix's local(8) owns local delivery and hands every message to
an LDA, as with Dovecot's ``mailbox_command = /usr/lib/dovecot/dovecot-lda -f "$SENDER" -a
"$RECIPIENT"``: local(8) runs the command as the recipient's UNIX user (``nobody`` here, the
one account every Debian system has), with a ``From `` line and its own Return-Path,
X-Original-To and Delivered-To headers in front of the message. Mail goes in over SMTP
(smtplib to Postfix's smtpd) and through Postfix's own sendmail; the Maildir files must hold
the message byte for byte (LF line ends), carry Postfix's trace headers once, no flags, and
sizes in their names that match the bytes.
"""

from __future__ import annotations

import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import support

pytestmark = pytest.mark.integration

POSTFIX = shutil.which("postfix")
SENDMAIL = "/usr/sbin/sendmail"
NOBODY = 65534
# The maa command local(8) runs. The test's interpreter may live where nobody cannot reach
# (pyenv under /root), so nobody runs Debian's python3 of the same version on this checkout
# and the test environment's packages: the ``maa deliver`` an installed maa would give.
SYSTEM_PYTHON = "/usr/bin/python3"
SITE_PACKAGES = next(p for p in sys.path if p.endswith("site-packages"))
MAA = f"/usr/bin/env PYTHONPATH={support.REPO}:{SITE_PACKAGES} {SYSTEM_PYTHON} -m maa"


def system_python_matches() -> bool:
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return False
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() == str(sys.version_info[:2])


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
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
local unix - n n - - local
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
mydestination = example.test
local_recipient_maps = unix:passwd.byname
alias_maps =
alias_database =
recipient_delimiter = +
mailbox_command = {maa} deliver -c {config} -d "${{USER}}@example.test" -a "${{RECIPIENT}}" \
-f "${{SENDER}}"
mynetworks = 127.0.0.0/8
relay_domains =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtp_dns_support_level = disabled
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
biff = no
"""

# What a desktop client sends: 8-bit text, "From " and "." at line starts, a long line.
BODY = (
    "Grüße aus Köln.\n"
    "From the start of a line, as mbox readers fear.\n"
    ">From a quoted one.\n"
    ".\n"
    "..two dots\n" + "x" * 990 + "\n"
    "last line\n"
).encode()


@dataclass
class Host:
    root: Path  # Postfix's directory
    smtp_port: int
    config: Path  # maa's
    mail: Path  # the Maildir root of nobody@example.test

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(errors="replace") if path.exists() else "(no maillog)"


def postfix(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert POSTFIX is not None
    return subprocess.run(
        [POSTFIX, "-c", str(root / "etc"), *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def host(request: pytest.FixtureRequest) -> Iterator[Host]:
    """Postfix and maa; ``maildir`` storage unless the test asks for ``mbox`` (indirect)."""
    driver = getattr(request, "param", "maildir")
    if POSTFIX is None or not os.path.exists(SENDMAIL):
        pytest.skip("postfix is not installed (apt-get install postfix)")
    if os.geteuid() != 0:
        pytest.skip("Postfix's master must start as root (it drops to mail_owner itself)")
    if not system_python_matches():
        pytest.skip(f"{SYSTEM_PYTHON} is not Python {sys.version_info[:2]}, as the tests' own")
    # Reachable by postfix and by nobody, who runs maa deliver: not under pytest's 0700 tmp.
    root = Path(tempfile.mkdtemp(prefix="maa-postfix-lda-"))
    root.chmod(0o755)
    try:
        config = support.write_config(root / "maa", mail={"location": f"{driver}:mail/%d/%n"})
        users = config.parent / "users"
        users.write_text(support.users_file_text({"nobody@example.test": "{PLAIN}secret"}))
        # maa deliver runs as the mail's owner: its config, users file and data are nobody's.
        (config.parent / "var").mkdir()
        for path in (config.parent, config, users, config.parent / "var"):
            os.chown(path, NOBODY, NOBODY)
        for sub in ("etc", "queue", "data"):
            (root / sub).mkdir()
        shutil.chown(root / "data", "postfix", "postfix")
        smtp_port = support.free_port()
        (root / "etc" / "main.cf").write_text(MAIN_CF.format(root=root, maa=MAA, config=config))
        (root / "etc" / "master.cf").write_text(MASTER_CF.format(port=f"127.0.0.1:{smtp_port}"))
        check = postfix(root, "check")
        assert check.returncode == 0, check.stderr + Host(root, 0, config, root).log()
        started = postfix(root, "start")
        assert started.returncode == 0, started.stderr + Host(root, 0, config, root).log()
        mail = config.parent / "var" / "mail" / "example.test" / "nobody"
        host = Host(root, smtp_port, config, mail)
        try:
            deadline = time.monotonic() + 20
            while not support._accepts(smtp_port):
                assert time.monotonic() < deadline, "postfix smtpd did not start"
                time.sleep(0.1)
            yield host
        finally:
            postfix(root, "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def message(subject: str) -> bytes:
    return (
        b"From: Sender <sender@example.net>\n"
        b"To: nobody@example.test\n"
        b"Subject: " + subject.encode() + b"\n"
        b"Message-ID: <" + subject.encode() + b"@example.net>\n"
        b"Date: Thu, 3 Dec 2026 10:00:00 +0000\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n"
        b"\n" + BODY
    )


def wait_for_files(host: Host, folder: str, count: int) -> list[Path]:
    """The Maildir files of ``folder`` ("" for INBOX), once ``count`` of them are there."""
    base = host.mail / folder if folder else host.mail
    deadline = time.monotonic() + 30
    while True:
        found = sorted(
            p for sub in ("new", "cur") if (base / sub).is_dir() for p in (base / sub).iterdir()
        )
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, host.log()
        time.sleep(0.1)


def check_file(path: Path, subject: str, recipient: str) -> None:
    data = path.read_bytes()
    assert b"\r" not in data  # Maildir holds LF line ends, as Dovecot and Postfix write it
    header, _, body = data.partition(b"\n\n")
    assert body == message(subject).split(b"\n\n", 1)[1]  # byte for byte, 8-bit included
    lines = header.split(b"\n")
    # Postfix's local(8) trace headers lead, once each; maa adds no second copy.
    assert lines[0] == b"Return-Path: <sender@example.net>"
    assert lines[1] == b"X-Original-To: " + recipient.encode()
    assert lines[2] == b"Delivered-To: " + recipient.encode()
    assert header.count(b"Return-Path:") == 1 and header.count(b"Delivered-To:") == 1
    assert b"by mx.example.test (Postfix" in header  # Postfix's Received
    assert header.endswith(message(subject).split(b"\n\n", 1)[0])  # then the sender's header
    # The name: ,S= the bytes on disk, ,W= the CRLF size IMAP and POP3 report; no flags.
    name = path.name
    size = re.search(r",S=(\d+)", name)
    vsize = re.search(r",W=(\d+)", name)
    assert size and int(size.group(1)) == len(data)
    assert vsize and int(vsize.group(1)) == len(data) + data.count(b"\n")
    assert path.parent.name == "new" or name.endswith(":2,")
    assert os.stat(path).st_uid == NOBODY  # written by the recipient's own user


def make_folder(host: Host, name: str) -> None:
    """What a client's CREATE does, here through maa's storage, then given to nobody."""
    from maa.auth import open_passwd_file
    from maa.config import load_config
    from maa.context import StoreCache

    config = load_config(host.config)
    user = open_passwd_file(config).lookup("nobody@example.test")
    assert user is not None
    StoreCache().open(user).create_folder(name)
    for path in [host.mail, *host.mail.rglob("*")]:
        os.chown(path, NOBODY, NOBODY)


def test_postfix_local_delivers_through_maa_deliver(host: Host) -> None:
    with smtplib.SMTP("127.0.0.1", host.smtp_port, timeout=30) as smtp:
        wire = message("over-smtp").replace(b"\n", b"\r\n")
        smtp.sendmail("sender@example.net", ["nobody@example.test"], wire, ["BODY=8BITMIME"])
    (to_inbox,) = wait_for_files(host, "", 1)
    check_file(to_inbox, "over-smtp", "nobody@example.test")
    # The special folders were made and the UID is in Dovecot's uidlist.
    assert (host.mail / ".Sent").is_dir() and (host.mail / ".Trash").is_dir()
    uidlist = (host.mail / "dovecot-uidlist").read_text()
    assert re.search(r"(?m)^1 .*:" + re.escape(to_inbox.name.split(":")[0]), uidlist), uidlist

    # user+detail@ goes to the folder "detail" (maa's recipient_delimiter, as Postfix's),
    # handed over by Postfix's own sendmail(1), as a cron job or a web form would.
    make_folder(host, "work")
    command = [SENDMAIL, "-C", str(host.root / "etc"), "-f", "sender@example.net", "-i"]
    sent = subprocess.run(
        [*command, "nobody+work@example.test"],
        input=message("via-sendmail"),
        capture_output=True,
        timeout=60,
    )
    assert sent.returncode == 0, sent.stderr
    (to_work,) = wait_for_files(host, ".work", 1)
    check_file(to_work, "via-sendmail", "nobody+work@example.test")
    assert len(wait_for_files(host, "", 1)) == 1  # nothing more in INBOX
    # local(8) logs once maa deliver has exited 0, which is after the file is in place.
    deadline = time.monotonic() + 30
    while host.log().count("status=sent (delivered to command: ") < 2:
        assert time.monotonic() < deadline, host.log()
        time.sleep(0.1)
    assert "status=bounced" not in host.log() and "status=deferred" not in host.log()


@pytest.mark.parametrize("host", ["mbox"], indirect=True)
def test_postfix_local_delivers_into_an_mbox_through_maa_deliver(host: Host) -> None:
    """The same hand-off into mbox storage: one From_ line with Postfix's envelope sender,
    the message as Dovecot would store it (body verbatim behind a Content-Length), and maa
    reading back exactly what Postfix handed over."""
    with smtplib.SMTP("127.0.0.1", host.smtp_port, timeout=30) as smtp:
        wire = message("into-mbox").replace(b"\n", b"\r\n")
        smtp.sendmail("sender@example.net", ["nobody@example.test"], wire, ["BODY=8BITMIME"])
    inbox = host.mail / "inbox"
    deadline = time.monotonic() + 30
    while "status=sent (delivered to command: " not in host.log():
        assert time.monotonic() < deadline and "status=bounced" not in host.log(), host.log()
        time.sleep(0.1)
    data = inbox.read_bytes()
    assert os.stat(inbox).st_uid == NOBODY
    assert data.startswith(b"From sender@example.net ") and b"\r" not in data
    _, rest = data.split(b"\n", 1)
    header, _, body = rest.partition(b"\n\n")
    sent_header, sent_body = message("into-mbox").split(b"\n\n", 1)
    assert body == sent_body + b"\n"  # verbatim, then the empty line that ends a message
    length = re.search(rb"(?m)^Content-Length: (\d+) *$", header)
    assert length and int(length.group(1)) == len(sent_body)
    assert header.count(b"Return-Path:") == 1 and header.count(b"Delivered-To:") == 1
    assert header.split(b"\n")[0] == b"Return-Path: <sender@example.net>"
    assert sent_header + b"\nContent-Length: " in header  # the sender's header, then ours

    from maa.auth import open_passwd_file
    from maa.config import load_config
    from maa.context import StoreCache

    config = load_config(host.config)
    user = open_passwd_file(config).lookup("nobody@example.test")
    assert user is not None
    box = StoreCache().open(user).folder("INBOX")
    (info,) = box.messages()
    shown = box.read(info.uid)
    assert shown.endswith(b"\r\n\r\n" + sent_body.replace(b"\n", b"\r\n"))
    assert b"Content-Length" not in shown and info.flags == frozenset()
