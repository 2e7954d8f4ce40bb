"""Commands about the connection rather than mail: CAPABILITY, NOOP, ID, ENABLE."""

from __future__ import annotations

from maa.imap.session import ENABLEABLE, Reply, Session, ok
from maa.log import service_log
from maa.proto.imap import commands as c

log = service_log("imap")


def capability(session: Session, cmd: c.Capability) -> Reply:
    session.out.append(f"* CAPABILITY {session.capabilities()}\r\n".encode())
    return ok("Capability completed")


def noop(session: Session, cmd: c.Noop) -> Reply:
    return ok("NOOP completed")  # the untagged updates come with every completion


def id_(session: Session, cmd: c.Id) -> Reply:
    if cmd.params:
        shown = ", ".join(f"{k}={v}" for k, v in cmd.params)
        log.info(session.session_id, f"ID sent: {shown}")
    session.out.append(b'* ID ("name" "maa" "vendor" "maa")\r\n')
    return ok("ID completed")


def enable(session: Session, cmd: c.Enable) -> Reply:
    """RFC 5161: unknown names are ignored; ``* ENABLED`` lists what this command turned on."""
    newly = [name for name in cmd.capabilities if name in ENABLEABLE]
    newly = [name for name in dict.fromkeys(newly) if name not in session.enabled]
    session.enabled.update(newly)
    if "UTF8=ACCEPT" in session.enabled:
        session.utf8 = True
    if session.view is not None:
        session.view.condstore = session.condstore
        session.view.qresync = session.qresync
    session.out.append(b"* ENABLED" + b"".join(b" " + n.encode() for n in newly) + b"\r\n")
    return ok("Enabled")
