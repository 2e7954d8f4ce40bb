"""Authentication: password checking (passdb) and user lookup (userdb) over Dovecot's
passwd-file format, and the ``twisted.cred`` portal every front end logs in through."""

from __future__ import annotations

from pathlib import Path

from maa.auth.passwdfile import PasswdFile
from maa.config import Config


def open_passwd_file(config: Config) -> PasswdFile:
    """The users file of ``[auth] passwd_file``, expanding ``[mail] location`` per user."""
    return PasswdFile(
        Path(config.auth.passwd_file),
        config.mail_location_base(),
        default_realm=config.auth.default_realm,
    )
