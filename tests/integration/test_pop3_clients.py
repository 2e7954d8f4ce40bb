"""Real POP3 clients from Debian against maa's POP3 (in this process, on loopback ports):
fetchmail, getmail6 and curl, each retrieving byte-exact what was delivered."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_twisted
from support import PASSWORD, listen, write_config
from twisted.internet import threads

from maa.context import ServerContext
from maa.storage.interface import INBOX, Folder

pytestmark = pytest.mark.integration

USER = "alice@example.test"


def _message(n: int, body: bytes) -> bytes:
    # Return-Path first: getmail writes its own Return-Path line at the top of what it
    # delivers, so with the same one first the delivered file equals the message.
    return (
        f"Return-Path: <sender@example.test>\r\nFrom: sender@example.test\r\nTo: {USER}\r\n"
        f"Subject: message {n}\r\nMessage-ID: <{n}.pop3@example.test>\r\n\r\n"
    ).encode() + body


MESSAGES = [
    _message(1, b"Hello.\r\n"),
    _message(2, b".\r\n..\r\n.leading dot\r\nnot the end\r\n.\r\n"),
    _message(3, b"".join(b"line %06d of a longer message, past any buffer\r\n" % i
                         for i in range(30000))),
]  # fmt: skip


def _lf(message: bytes) -> bytes:
    return message.replace(b"\r\n", b"\n")


@dataclass
class Server:
    ctx: ServerContext
    port: int
    tls_port: int

    def inbox(self) -> Folder:
        user = self.ctx.userdb.lookup(USER)
        assert user is not None
        store = self.ctx.stores.open(user)
        store.ensure_defaults()
        return store.folder(INBOX)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    from twisted.internet import reactor

    from maa.config import load_config
    from maa.pop3.server import build_factory
    from maa.service import build_context
    from maa.tls import wrap_implicit

    ctx = build_context(load_config(write_config(tmp_path / "etc")), reactor)
    port = listen(build_factory(ctx, implicit_tls=False))
    tls_port = listen(wrap_implicit(build_factory(ctx, implicit_tls=True), ctx.tls))
    server = Server(ctx, port, tls_port)
    for message in MESSAGES:
        server.inbox().append(message)
    yield server


def _need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.skip(f"{program} is not installed (Debian package {program})")
    return path


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(args, capture_output=True, timeout=60, **kwargs)  # type: ignore[call-overload]
    return result  # type: ignore[no-any-return]


# -- fetchmail --------------------------------------------------------------------------


def _fetchmail(tmp_path: Path, port: int, *options: str) -> tuple[int, list[bytes], str]:
    fetchmail = _need("fetchmail")
    home = tmp_path / "fetchmail-home"
    out = tmp_path / "fetched"
    for d in (home, out):
        d.mkdir(exist_ok=True)
    rc = home / ".fetchmailrc"
    local = os.environ.get("USER", "root")
    rc.write_text(
        f"poll 127.0.0.1 with proto POP3 port {port}\n"
        f'  user "{USER}" there with password "{PASSWORD}" is "{local}" here\n'
    )
    rc.chmod(0o600)
    mda = f"/bin/sh -c 'cat > $(mktemp {out}/msg.XXXXXX)'"
    result = _run(
        [fetchmail, "--fetchmailrc", str(rc), "--idfile", str(home / ".fetchids"),
         "--pidfile", str(home / "fetchmail.pid"), "--nodetach", "--invisible",
         "--norewrite", "--nosyslog", "--mda", mda, "--nosslcertck", *options],
        env=dict(os.environ, HOME=str(home)),
    )  # fmt: skip
    fetched = [p.read_bytes() for p in sorted(out.iterdir())]
    for p in out.iterdir():
        p.unlink()
    return result.returncode, fetched, (result.stdout + result.stderr).decode(errors="replace")


@pytest_twisted.inlineCallbacks
def test_fetchmail_over_stls_keeps_then_deletes(server: Server, tmp_path: Path) -> None:
    code, fetched, output = yield threads.deferToThread(
        _fetchmail, tmp_path, server.port, "--sslproto", "tls1.2+", "--keep", "--all"
    )
    assert code == 0, output
    assert sorted(fetched) == sorted(_lf(m) for m in MESSAGES), output
    assert len(server.inbox().messages()) == 3  # --keep

    code, fetched, output = yield threads.deferToThread(
        _fetchmail, tmp_path, server.port, "--sslproto", "tls1.2+", "--nokeep", "--all"
    )
    assert code == 0, output
    assert sorted(fetched) == sorted(_lf(m) for m in MESSAGES), output
    assert len(server.inbox().messages()) == 0


@pytest_twisted.inlineCallbacks
def test_fetchmail_over_implicit_tls(server: Server, tmp_path: Path) -> None:
    code, fetched, output = yield threads.deferToThread(
        _fetchmail, tmp_path, server.tls_port, "--ssl", "--keep", "--all"
    )
    assert code == 0, output
    assert sorted(fetched) == sorted(_lf(m) for m in MESSAGES), output


# -- getmail6 ---------------------------------------------------------------------------


@pytest.fixture
def getmail_maildir(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A Maildir getmail may write to, and the ``user`` line its destination needs: getmail
    refuses to deliver as root, so as root it delivers as ``nobody`` into a Maildir outside
    pytest's private temporary tree."""
    if os.geteuid() != 0:
        maildir = tmp_path / "Maildir"
        user_line = ""
        cleanup = None
    else:
        import pwd
        import tempfile

        nobody = pwd.getpwnam("nobody")
        cleanup = Path(tempfile.mkdtemp(prefix="maa-getmail-"))
        cleanup.chmod(0o755)
        maildir = cleanup / "Maildir"
        user_line = "user = nobody\n"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
        if cleanup is not None:
            os.chown(maildir / sub, nobody.pw_uid, nobody.pw_gid)
    yield maildir, user_line
    if cleanup is not None:
        shutil.rmtree(cleanup)


def _getmail(
    tmp_path: Path, maildir: Path, user_line: str, retriever: str, port: int
) -> tuple[int, list[bytes], str]:
    getmail = _need("getmail")
    state = tmp_path / "getmail-state"
    state.mkdir(exist_ok=True)
    rc = state / "getmailrc"
    rc.write_text(
        f"[retriever]\ntype = {retriever}\nserver = 127.0.0.1\nport = {port}\n"
        f"username = {USER}\npassword = {PASSWORD}\n\n"
        f"[destination]\ntype = Maildir\npath = {maildir}/\n{user_line}\n"
        "[options]\nread_all = true\ndelete = false\ndelivered_to = false\n"
        "received = false\nverbose = 1\n"
    )
    result = _run([getmail, "--rcfile", str(rc), "--getmaildir", str(state)])
    fetched = [p.read_bytes() for p in sorted((maildir / "new").iterdir())]
    return result.returncode, fetched, (result.stdout + result.stderr).decode(errors="replace")


@pytest.mark.parametrize("retriever", ["SimplePOP3Retriever", "SimplePOP3SSLRetriever"])
@pytest_twisted.inlineCallbacks
def test_getmail_into_a_maildir(
    server: Server, tmp_path: Path, getmail_maildir: tuple[Path, str], retriever: str
) -> None:
    port = server.tls_port if "SSL" in retriever else server.port
    maildir, user_line = getmail_maildir
    code, fetched, output = yield threads.deferToThread(
        _getmail, tmp_path, maildir, user_line, retriever, port
    )
    assert code == 0, output
    assert len(fetched) == len(MESSAGES), output
    assert sorted(fetched) == sorted(_lf(m) for m in MESSAGES)
    assert len(server.inbox().messages()) == 3  # delete = false


# -- curl -------------------------------------------------------------------------------


def _curl(url: str, *options: str) -> tuple[int, bytes, str]:
    curl = _need("curl")
    result = _run([curl, "-s", "-S", "-k", "--user", f"{USER}:{PASSWORD}", *options, url])
    return result.returncode, result.stdout, result.stderr.decode(errors="replace")


@pytest_twisted.inlineCallbacks
def test_curl_retr_over_starttls(server: Server) -> None:
    for number, message in enumerate(MESSAGES, 1):
        url = f"pop3://127.0.0.1:{server.port}/{number}"
        code, body, err = yield threads.deferToThread(_curl, url, "--ssl-reqd")
        assert code == 0, err
        assert body == message


@pytest_twisted.inlineCallbacks
def test_curl_list_and_retr_over_pop3s(server: Server) -> None:
    code, listing, err = yield threads.deferToThread(_curl, f"pop3s://127.0.0.1:{server.tls_port}/")
    assert code == 0, err
    assert listing == b"".join(f"{i} {len(m)}\r\n".encode() for i, m in enumerate(MESSAGES, 1))
    code, body, err = yield threads.deferToThread(_curl, f"pop3s://127.0.0.1:{server.tls_port}/2")
    assert code == 0, err
    assert body == MESSAGES[1]


# -- Dovecot on the same Maildir: a host moved from Dovecot keeps its UIDLs ----------------


@pytest.fixture
def shared_maildir() -> Iterator[tuple[Path, tuple[int, int]]]:
    """A Maildir both Dovecot and maa can use, and the (uid, gid) mail is kept as: Dovecot
    refuses to serve mail as root, so as root the mail belongs to ``nobody``, outside
    pytest's private temporary tree."""
    import pwd
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="maa-pop3-dovecot-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        owner = (nobody.pw_uid, nobody.pw_gid)
    else:
        owner = (os.getuid(), os.getgid())
    maildir = root / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for n, message in enumerate(MESSAGES[:2], 1):
        (maildir / "cur" / f"{1700000000 + n}.M{n}P1.migrated:2,S").write_bytes(_lf(message))
    for path in [root, maildir, *maildir.rglob("*")]:
        os.chown(path, *owner)
    yield maildir, owner
    shutil.rmtree(root, ignore_errors=True)


def _start_dovecot(maildir: Path, owner: tuple[int, int]) -> tuple[subprocess.Popen[bytes], int]:
    from support import free_port

    dovecot = shutil.which("dovecot", path=os.environ.get("PATH", "") + ":/usr/sbin")
    if dovecot is None:
        pytest.skip("dovecot is not installed (Debian packages dovecot-core, dovecot-pop3d)")
    root = maildir.parent / "dovecot"
    for sub in ("run", "state", "home"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    os.chown(root / "home", *owner)
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(
        f"base_dir = {root}/run\nstate_dir = {root}/state\nlog_path = {root}/dovecot.log\n"
        "instance_name = maa-pop3-test\nprotocols = pop3\nlisten = 127.0.0.1\nssl = no\n"
        "disable_plaintext_auth = no\npop3_uidl_format = %08Xu%08Xv\n"
        f"passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {root}/users\n}}\n"
        f"userdb {{\n  driver = static\n  args = uid={owner[0]} gid={owner[1]} "
        f"home={root}/home mail=maildir:{maildir}\n}}\n"
        f"service pop3-login {{\n  inet_listener pop3 {{\n    port = {port}\n  }}\n"
        "  chroot =\n}\nservice anvil {\n  chroot =\n}\n"
    )
    process = subprocess.Popen([dovecot, "-F", "-c", str(conf)], stderr=subprocess.PIPE)
    import socket
    import time

    deadline = time.monotonic() + 20
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process, port
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"dovecot did not start: {process.stderr.read() if process.stderr else ''}")
        time.sleep(0.05)


def _uidl_of(port: int) -> list[bytes]:
    import poplib

    client = poplib.POP3("127.0.0.1", port, timeout=10)
    client.user(USER)
    client.pass_(PASSWORD)
    _, lines, _ = client.uidl()
    client.quit()
    return list(lines)


@pytest_twisted.inlineCallbacks
def test_uidl_matches_dovecot_on_the_same_maildir(
    tmp_path: Path, shared_maildir: tuple[Path, tuple[int, int]]
) -> None:
    from twisted.internet import reactor

    from maa.config import load_config
    from maa.pop3.server import build_factory
    from maa.service import build_context

    maildir, owner = shared_maildir
    dovecot, dovecot_port = _start_dovecot(maildir, owner)
    try:
        # Dovecot serves the mailbox first and gives the messages their UIDs.
        before = yield threads.deferToThread(_uidl_of, dovecot_port)
        assert len(before) == 2

        config = load_config(
            write_config(tmp_path / "etc", mail={"location": f"maildir:{maildir}"})
        )
        Path(config.auth.passwd_file).write_text(
            f"{USER}:{{PLAIN}}{PASSWORD}:{owner[0]}:{owner[1]}::::\n"
        )
        ctx = build_context(config, reactor)
        port = listen(build_factory(ctx, implicit_tls=False))
        # maa on the same Maildir answers the same UIDLs: nothing is downloaded again.
        assert (yield threads.deferToThread(_uidl_of, port)) == before

        # A message maa stores is known to Dovecot by the same UIDL, and the other way round.
        user = ctx.userdb.lookup(USER)
        assert user is not None
        ctx.stores.open(user).folder(INBOX).append(MESSAGES[2])
        from_maa = yield threads.deferToThread(_uidl_of, port)
        from_dovecot = yield threads.deferToThread(_uidl_of, dovecot_port)
        assert len(from_maa) == 3
        assert from_maa == from_dovecot
    finally:
        dovecot.terminate()
        dovecot.wait(10)
