"""Every buffer the IMAP core keeps has a limit named here, with the reason for its size."""

from __future__ import annotations

# One line of a command, between literals. Dovecot's imap_max_line_length is 64 KiB: long
# enough for a UID set covering 100,000 scattered messages, short enough to bound memory.
MAX_LINE = 64 * 1024

# A literal in anything but APPEND (a LOGIN password, a SEARCH string, a mailbox name).
# Nothing legitimate comes near this; a client sending more is attacking or broken.
MAX_SMALL_LITERAL = 64 * 1024

# Everything one non-APPEND command may hold, text and literals together, so that a chain of
# literals cannot grow a command without bound.
MAX_COMMAND = 1024 * 1024

# APPEND literals above this many bytes go to a temporary file instead of memory; below it,
# a SpooledTemporaryFile keeps them in RAM (most mail is well under 1 MiB).
SPOOL_THRESHOLD = 1024 * 1024

# Default largest APPEND literal when the glue gives none ([mail] max_message_size).
DEFAULT_MAX_APPEND = 50 * 1024 * 1024

# Nesting depth of parenthesised lists and SEARCH keys: deep enough for any real client,
# shallow enough that a hostile one cannot exhaust the Python stack.
MAX_NESTING = 64

# An APPEND literal before login is refused above this size: nobody may make us spool
# max_message_size bytes to disk without a password (Dovecot also bounds pre-login input).
MAX_UNAUTHENTICATED_LITERAL = 8 * 1024

# Bytes a client may pipeline while a command is still running (a slow APPEND, a login
# waiting out its failure delay); past this the glue stops reading the socket.
MAX_PIPELINED = 1024 * 1024
