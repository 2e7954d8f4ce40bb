"""``maa check``: is this installation ready to serve? Settings, users file, TLS pair, and
the submission tables (aliases, transport, header_checks, credentials).

Exit 0 and ``ok`` when nothing is wrong; otherwise each problem on its own line (file and
line number, or settings key) and exit 1. Warnings (a users file others can read) do not
change the exit code.
"""

from __future__ import annotations

import argparse
import datetime
import grp
import logging
import os
import pwd
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from maa.auth import open_passwd_file
from maa.auth.passwdfile import readable_by
from maa.cli.common import add_config_option, config_path
from maa.config import Config, ConfigError, load_config
from maa.queue.routing import check_tables


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check the settings, users file and TLS certificate",
        description="Check the settings file, the users file (bad lines with their "
        "numbers) and the TLS certificate and key. Exit 0 when all is well.",
    )
    add_config_option(parser)
    parser.set_defaults(func=run)


def check_users(config: Config) -> tuple[list[str], list[str]]:
    """(problems, warnings) of the users file."""
    path = Path(config.auth.passwd_file)
    if not path.exists():
        return [f"{path}: no such file (auth.passwd_file): nobody can log in"], []
    problems: list[str] = []
    warnings: list[str] = []
    # The problems are reported below; keep the logger's copy of them off the terminal.
    auth_logger = logging.getLogger("maa.auth")
    quiet = logging.NullHandler()
    auth_logger.addHandler(quiet)
    propagate, auth_logger.propagate = auth_logger.propagate, False
    try:
        passwd = open_passwd_file(config)
    finally:
        auth_logger.propagate = propagate
        auth_logger.removeHandler(quiet)
    problems.extend(str(p) for p in passwd.problems)
    if not passwd.users():
        warnings.append(f"{path}: no users")
    mode = os.stat(path).st_mode
    run_as = config.server.user
    if run_as and not readable_by(path, run_as):
        warnings.append(
            f"{path}: users file not readable by user {run_as} ([server] user): maa serve "
            f"reads it before dropping privileges but cannot reread it after; e.g. "
            f"chgrp {_group_name(pwd.getpwnam(run_as).pw_gid)} {path} && chmod 0640 {path}"
        )
    if mode & stat.S_IROTH:
        warnings.append(f"{path}: readable by everyone, and it holds password hashes")
    return problems, warnings


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def check_tls(config: Config) -> tuple[list[str], list[str]]:
    cert_path, key_path = Path(config.tls.cert), Path(config.tls.key)
    if not cert_path.exists() and not key_path.exists():
        return [], [f"{cert_path}: no certificate yet; maa serve makes a self-signed one"]
    problems: list[str] = []
    for path, setting in ((cert_path, "tls.cert"), (key_path, "tls.key")):
        if not path.exists():
            problems.append(f"{path}: no such file ({setting}), but its pair exists")
    if problems:
        return problems, []
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (ValueError, OSError) as e:
        return [f"{cert_path}: not a PEM certificate (tls.cert): {e}"], []
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (ValueError, TypeError, OSError) as e:
        return [f"{key_path}: not a PEM private key without passphrase (tls.key): {e}"], []
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if cert.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        return [f"{key_path}: does not match the certificate {cert_path}"], []
    warnings: list[str] = []
    if cert.not_valid_after_utc < datetime.datetime.now(datetime.UTC):
        warnings.append(f"{cert_path}: expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    return [], warnings


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(config_path(args))
        config.mail_location_base()
    except ConfigError as e:
        print(f"maa check: {e}")
        return 1
    problems: list[str] = []
    warnings: list[str] = []
    for check in (check_users, check_tls, check_tables):
        found, warned = check(config)
        problems += found
        warnings += warned
    for line in warnings:
        print(f"warning: {line}")
    for line in problems:
        print(f"error: {line}")
    if problems:
        return 1
    print("ok")
    return 0
