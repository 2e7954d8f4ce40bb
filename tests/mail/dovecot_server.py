"""A private Dovecot (Debian's dovecot-core and dovecot-imapd) for comparing answers.

Started in a temporary directory on a free loopback port with a static password and
Maildir under the temporary directory; needs root, because Dovecot switches to ``nobody``
for mail access. Used by ``regen_dovecot_expected.py`` and the integration-tier
differential test.
"""

from __future__ import annotations

import imaplib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USER = "fixtures"
PASSWORD = "fixtures-password"


def unavailable_reason() -> str | None:
    """Why a private Dovecot cannot run here, or None when it can."""
    for program in ("dovecot", "doveadm"):
        if shutil.which(program) is None:
            return f"{program} is not installed (Debian: dovecot-core, dovecot-imapd)"
    if os.geteuid() != 0:
        return "starting a private Dovecot needs root (it switches to nobody for mail)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(root: Path, port: int) -> Path:
    (root / "mail").mkdir()
    subprocess.run(["chown", "nobody:nogroup", str(root / "mail")], check=True)
    conf = root / "dovecot.conf"
    conf.write_text(
        f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
mail_location = maildir:{root}/mail/%u
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
first_valid_uid = 1
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""
    )
    return conf


@dataclass
class Dovecot:
    conf: Path
    port: int

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port)
        client.login(USER, PASSWORD)
        return client

    def fetch_structures(self, mailbox: str = "INBOX") -> dict[int, dict[str, bytes]]:
        """ENVELOPE, BODY and BODYSTRUCTURE of every message, by UID, parentheses added."""
        fetched = subprocess.run(
            [
                *("doveadm", "-c", str(self.conf), "-f", "json", "fetch", "-u", USER),
                *("uid imap.envelope imap.body imap.bodystructure", "mailbox", mailbox, "all"),
            ],
            check=True,
            capture_output=True,
        )
        return {
            int(row["uid"]): {
                key: b"(" + row[f"imap.{key}"].encode() + b")"
                for key in ("envelope", "body", "bodystructure")
            }
            for row in json.loads(fetched.stdout)
        }


def section(client: imaplib.IMAP4, uid: int, spec: str) -> bytes | None:
    """BODY.PEEK[spec] of a message over IMAP; None when Dovecot refuses it."""
    status, data = client.uid("FETCH", str(uid), f"(BODY.PEEK[{spec}])")
    if status != "OK" or not data or data[0] is None:
        return None
    first = data[0]
    if isinstance(first, tuple):
        return bytes(first[1])
    text = first.decode("latin-1") if isinstance(first, bytes) else str(first)
    return b"" if text.rstrip(")").endswith('""') else None


@contextmanager
def private_dovecot() -> Iterator[Dovecot]:
    """Start Dovecot, yield it, stop it."""
    with tempfile.TemporaryDirectory(prefix="maa-dovecot-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        port = _free_port()
        conf = _config(root, port)
        subprocess.run(["dovecot", "-c", str(conf)], check=True)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            yield Dovecot(conf, port)
        finally:
            subprocess.run(["doveadm", "-c", str(conf), "stop"], check=False)
