"""Regenerate ``dovecot_expected.json``: what Dovecot answers for every message in ``corpus``.

Run by hand (as root, with Debian's dovecot-core and dovecot-imapd installed):
    python -m tests.mail.regen_dovecot_expected
It starts a private Dovecot in a temporary directory listening on a free loopback port,
APPENDs the corpus, takes ENVELOPE/BODY/BODYSTRUCTURE from ``doveadm fetch`` and every
section in ``corpus.SECTIONS`` over IMAP, then stops Dovecot. Byte strings are stored as
Latin-1 text so that any byte survives JSON.
"""

from __future__ import annotations

import imaplib
import json
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .corpus import CORPUS, SECTIONS, THREAD_CORPUS

OUT = Path(__file__).with_name("dovecot_expected.json")
USER = "fixtures"
PASSWORD = "fixtures-password"


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


def _latin1(data: bytes) -> str:
    return data.decode("latin-1")


def _section(client: imaplib.IMAP4, uid: int, section: str) -> str | None:
    status, data = client.uid("FETCH", str(uid), f"(BODY.PEEK[{section}])")
    if status != "OK" or not data or data[0] is None:
        return None
    first = data[0]
    if isinstance(first, tuple):
        return _latin1(first[1])
    text = first.decode("latin-1") if isinstance(first, bytes) else str(first)
    if text.rstrip(")").endswith('""'):
        return ""
    return None


def _thread(client: imaplib.IMAP4, algorithm: str) -> str:
    status, data = client.thread(algorithm, "UTF-8", "ALL")
    assert status == "OK", data
    first = data[0]
    return first.decode() if isinstance(first, bytes) else ""


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="maa-dovecot-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        port = _free_port()
        conf = _config(root, port)
        subprocess.run(["dovecot", "-c", str(conf)], check=True)
        try:
            for _ in range(50):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            client = imaplib.IMAP4("127.0.0.1", port)
            client.login(USER, PASSWORD)
            names = list(CORPUS)
            for name in names:
                client.append("INBOX", None, None, CORPUS[name])
            client.select("INBOX")
            fetched = subprocess.run(
                [
                    "doveadm",
                    "-c",
                    str(conf),
                    "-f",
                    "json",
                    "fetch",
                    "-u",
                    USER,
                    "uid imap.envelope imap.body imap.bodystructure",
                    "mailbox",
                    "INBOX",
                    "all",
                ],
                check=True,
                capture_output=True,
            )
            rows = {int(row["uid"]): row for row in json.loads(fetched.stdout)}
            expected: dict[str, object] = {}
            for uid, name in enumerate(names, start=1):
                row = rows[uid]
                expected[name] = {
                    "envelope": _latin1(b"(" + row["imap.envelope"].encode() + b")"),
                    "body": _latin1(b"(" + row["imap.body"].encode() + b")"),
                    "bodystructure": _latin1(b"(" + row["imap.bodystructure"].encode() + b")"),
                    "sections": {s: _section(client, uid, s) for s in SECTIONS},
                }
            client.create("threads")
            for raw in THREAD_CORPUS:
                client.append("threads", None, None, raw)
            client.select("threads")
            expected["__threads__"] = {
                algorithm: _thread(client, algorithm)
                for algorithm in ("REFERENCES", "ORDEREDSUBJECT")
            }
            client.logout()
        finally:
            subprocess.run(["doveadm", "-c", str(conf), "stop"], check=False)
    OUT.write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({len(expected)} messages)")


if __name__ == "__main__":
    main()
