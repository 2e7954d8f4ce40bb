"""``maa pw``: make a password hash for the users file, like ``doveadm pw``."""

from __future__ import annotations

import argparse
import getpass
import sys

from maa.auth.schemes import (
    DEFAULT_SCHEME,
    SCHEMES,
    UnknownSchemeError,
    hash_password,
    verify_password,
)
from maa.cli.common import add_config_option


class PasswordInputError(Exception):
    pass


def new_password(given: str | None) -> str:
    """``given``, or one typed twice at the terminal (getpass)."""
    if given is not None:
        password = given
    else:
        try:
            password = getpass.getpass("Enter new password: ")
            again = getpass.getpass("Retype new password: ")
        except (EOFError, KeyboardInterrupt):
            raise PasswordInputError("no password given") from None
        if password != again:
            raise PasswordInputError("passwords don't match")
    if not password:
        raise PasswordInputError("empty passwords are not allowed")
    return password


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "pw",
        help="make a password hash for the users file",
        description="Print {SCHEME}hash for a password, for the second field of the users "
        "file (as doveadm pw). Prompts twice when -p is not given.",
    )
    add_config_option(parser)
    parser.add_argument("-s", "--scheme", default=DEFAULT_SCHEME, help="default %(default)s")
    parser.add_argument("-p", "--password", help="the password (else prompted)")
    parser.add_argument("-u", "--user", default="", help="user name (DIGEST-MD5 needs it)")
    parser.add_argument("-r", "--rounds", type=int, help="cost: rounds or bcrypt cost")
    parser.add_argument("-l", "--list", action="store_true", help="list the schemes")
    parser.add_argument(
        "-t", "--test", metavar="HASH", help="check the password against HASH instead"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.list:
        print(" ".join(SCHEMES))
        return 0
    try:
        password = new_password(args.password)
        if args.test is not None:
            if verify_password(args.test, password, user=args.user):
                print(f"{args.test} (verified)")
                return 0
            print("maa pw: password mismatch", file=sys.stderr)
            return 1
        print(hash_password(password, args.scheme, user=args.user, rounds=args.rounds))
    except (PasswordInputError, UnknownSchemeError, ValueError) as e:
        print(f"maa pw: {e}", file=sys.stderr)
        return 1
    return 0
