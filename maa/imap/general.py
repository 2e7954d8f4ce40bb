"""Commands about the connection rather than mail: CAPABILITY, NOOP, ID, ENABLE."""

from __future__ import annotations

from maa.imap.session import Reply, Session, ok
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
    # No ENABLE-able extension is offered yet (CONDSTORE, QRESYNC and UTF8=ACCEPT come
    # later); RFC 5161 3.1: the ones the server does not know are ignored.
    session.out.append(b"* ENABLED\r\n")
    return ok("Enabled")
