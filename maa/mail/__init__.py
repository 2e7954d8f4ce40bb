"""Message parsing shared by IMAP FETCH, SEARCH, SORT/THREAD and delivery.

Everything works on raw message bytes in CRLF form (what ``Folder.read``/``open`` return) and
never raises on a message, however broken: it degrades the way Dovecot does.

- FETCH: :class:`MessageParts` (the part tree with byte offsets), :func:`envelope`,
  :func:`bodystructure`, :func:`section` with :class:`SectionSpec`, :func:`header_fields`
  and :func:`header_block` (the HEADER.FIELDS fast path that never reads a body).
- SEARCH: :func:`decoded_header`, :func:`addresses`, :func:`header_date`,
  :func:`search_text`, :func:`contains`.
- SORT/THREAD: :func:`base_subject` (and :func:`subject_info`), :func:`collation_key`,
  :func:`message_id`, :func:`references`, :func:`sort_address`, :func:`display_name`;
  the RFC 5256 algorithms :func:`thread_references`, :func:`thread_orderedsubject` over
  :class:`ThreadMessage` values, written out by :func:`format_threads`.
- Delivery and logs: :func:`first_header`.
"""

from maa.mail.bodystructure import bodystructure
from maa.mail.envelope import envelope
from maa.mail.headers import first_header, header_block, header_fields
from maa.mail.mime import MessageParts, MimePart
from maa.mail.search import (
    addresses,
    contains,
    date_value,
    decoded_header,
    header_date,
    search_text,
    transfer_decode,
)
from maa.mail.section import SectionSpec, section
from maa.mail.sortkeys import (
    base_subject,
    collation_key,
    display_name,
    message_id,
    references,
    sort_address,
    subject_info,
)
from maa.mail.threads import (
    ThreadMessage,
    ThreadNode,
    format_threads,
    thread_orderedsubject,
    thread_references,
)

__all__ = [
    "MessageParts",
    "MimePart",
    "SectionSpec",
    "ThreadMessage",
    "ThreadNode",
    "addresses",
    "base_subject",
    "bodystructure",
    "collation_key",
    "contains",
    "date_value",
    "decoded_header",
    "display_name",
    "envelope",
    "first_header",
    "format_threads",
    "header_block",
    "header_date",
    "header_fields",
    "message_id",
    "references",
    "search_text",
    "section",
    "sort_address",
    "subject_info",
    "thread_orderedsubject",
    "thread_references",
    "transfer_decode",
]
