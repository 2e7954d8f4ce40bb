"""``maa auth test|lookup``: check a login or look a user up as the server would
(``doveadm auth test``, ``doveadm user``), without the failure delay."""

from __future__ import annotations

import argparse
import getpass
import sys

from maa.auth import open_passwd_file
from maa.auth.model import MailUser
from maa.cli.common import add_config_option, load


def _nested_config_option(parser: argparse.ArgumentParser) -> None:
    """``-c`` after the action too; SUPPRESS keeps a ``-c`` given before it."""
    parser.add_argument(
        "-c", "--config", metavar="FILE", default=argparse.SUPPRESS, help="settings file"
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "auth",
        help="test a login, look a user up",
        description="Check logins and user lookups against the users file.",
    )
    add_config_option(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    test = actions.add_parser(
        "test",
        help="check a user's password",
        description="Exit 0 when the password is right (and print the user's fields), "
        "1 when not. Prompts when PASSWORD is not given.",
    )
    _nested_config_option(test)
    test.add_argument("user")
    test.add_argument("password", nargs="?")
    test.set_defaults(func=run_test)

    lookup = actions.add_parser(
        "lookup",
        help="print a user's fields",
        description="Print where a user's mail lives, as delivery would find it. "
        "Exit 1 when there is no such user.",
    )
    _nested_config_option(lookup)
    lookup.add_argument("user")
    lookup.set_defaults(func=run_lookup)


def userdb_fields(user: MailUser) -> list[tuple[str, str]]:
    fields = [("user", user.login)]
    if user.uid is not None:
        fields.append(("uid", str(user.uid)))
    if user.gid is not None:
        fields.append(("gid", str(user.gid)))
    if user.home is not None:
        fields.append(("home", user.home))
    fields.append(("mail", user.mail_location))
    fields.extend(sorted(user.extra.items()))
    return fields


def _print_fields(user: MailUser) -> None:
    print("userdb extra fields:")
    for key, value in userdb_fields(user):
        print(f"  {key}={value}")


def run_test(args: argparse.Namespace) -> int:
    config = load(args)
    password = args.password
    if password is None:
        try:
            password = getpass.getpass("Password: ")
        except (EOFError, KeyboardInterrupt):
            print("maa auth: no password given", file=sys.stderr)
            return 1
    passwd = open_passwd_file(config)
    user = passwd.verify(args.user, password)
    if user is None:
        print(f"passdb: {args.user} auth failed")
        return 1
    print(f"passdb: {args.user} auth succeeded")
    _print_fields(user)
    return 0


def run_lookup(args: argparse.Namespace) -> int:
    config = load(args)
    user = open_passwd_file(config).lookup(args.user)
    if user is None:
        print(f"userdb lookup: user {args.user} doesn't exist", file=sys.stderr)
        return 1
    _print_fields(user)
    return 0
