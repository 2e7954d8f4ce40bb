"""Every buffer the POP3 core keeps has a limit named here, with the reason for its size."""

from __future__ import annotations

# RFC 2449 section 4: a command line is at most 255 octets including the CRLF. Real clients
# send longer PASS lines (passphrases), so allow four times that before calling it abuse.
MAX_COMMAND_LINE = 1024

# RFC 5034 section 4 lets SASL responses exceed the command limit. A PLAIN response carries
# authzid, authcid and password of up to 255 octets each (RFC 4616), under 1 KiB of base64;
# 4 KiB leaves room for UTF-8 and whitespace while still bounding memory.
MAX_AUTH_LINE = 4096

# Bytes of pipelined input kept while a command is being answered (a RETR streaming out).
# Pipelining 1,000 RETRs takes about 10 KiB; past this much the glue stops reading from the
# socket until the core has caught up, so a client cannot make the server buffer without end.
MAX_PIPELINED_INPUT = 64 * 1024

# Unknown or malformed commands tolerated before the connection is closed, as Dovecot's
# CLIENT_MAX_BAD_COMMANDS: a real client never gets near it, a scanner soon does.
MAX_BAD_COMMANDS = 20
