"""Message parsing shared by IMAP FETCH, SEARCH, SORT/THREAD and delivery.

Everything works on raw message bytes in CRLF form (what ``Folder.read``/``open`` return) and
never raises on a message, however broken: it degrades the way Dovecot does.
"""

from maa.mail.bodystructure import bodystructure
from maa.mail.envelope import envelope
from maa.mail.headers import first_header, header_block, header_fields
from maa.mail.mime import MessageParts, MimePart
from maa.mail.section import SectionSpec, section

__all__ = [
    "MessageParts",
    "MimePart",
    "SectionSpec",
    "bodystructure",
    "envelope",
    "first_header",
    "header_block",
    "header_fields",
    "section",
]
