"""Local delivery for the queue: ``maa.lda.deliver`` (the one delivery function LMTP and
``maa deliver`` use too), with its result mapped to a queue outcome."""

from __future__ import annotations

from pathlib import Path

from maa import lda
from maa.auth.model import MailUser
from maa.queue.delivery import LocalDeliver, LocalResult


def outcome(result: lda.DeliveryResult) -> LocalResult:
    if result.ok:
        return LocalResult("sent", f"delivered to {result.folder or 'INBOX'}", result.status)
    reply = f"{result.status} {result.reason}"
    if result.temporary:
        return LocalResult("deferred", reply, result.status)
    return LocalResult("bounced", reply, result.status)


def lda_delivery(ctx: lda.DeliveryContext) -> LocalDeliver:
    """Deliver through ``maa.lda`` with ``ctx`` (a ServerContext or an ``lda.LocalContext``);
    lda's own log lines carry the queue id."""

    def deliver(
        user: MailUser, content: Path, *, sender: str, recipient: str, queue_id: str
    ) -> LocalResult:
        result = lda.deliver(
            ctx,
            user,
            content,
            sender=sender,
            recipient=recipient,
            session=queue_id,
            log_service="local",
        )
        return outcome(result)

    return deliver
