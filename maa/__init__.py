"""maa: a mail access server (LMTP, IMAP, POP3, SMTP submission) over Maildir or mbox."""

__version__ = "0.1.0"
