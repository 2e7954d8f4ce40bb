"""``maa user add|del|passwd|list``: edit the users file without an editor.

Each change rewrites the file atomically (see ``maa.auth.passwdfile_edit``); the running
server picks it up at its next login or delivery, no restart needed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from maa.auth import open_passwd_file
from maa.auth.passwdfile import LineError
from maa.auth.passwdfile_edit import (
    UserExistsError,
    UserNotFoundError,
    add_user,
    delete_user,
    make_line,
    set_password,
)
from maa.auth.schemes import DEFAULT_SCHEME, UnknownSchemeError, hash_password
from maa.cli.common import add_config_option, load
from maa.cli.pw import PasswordInputError, new_password
from maa.config import Config


def _nested_config_option(parser: argparse.ArgumentParser) -> None:
    """``-c`` after the action too; SUPPRESS keeps a ``-c`` given before it."""
    parser.add_argument(
        "-c", "--config", metavar="FILE", default=argparse.SUPPRESS, help="settings file"
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "user",
        help="add, delete, list users, set passwords",
        description="Edit the users file ([auth] passwd_file). Changes are live at once.",
    )
    add_config_option(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="add a user", description="Add a user.")
    _nested_config_option(add)
    add.add_argument("name", help="name@domain, or a bare name")
    _password_options(add)
    add.add_argument("--uid", type=int, help="system uid owning the mail")
    add.add_argument("--gid", type=int, help="system gid owning the mail")
    add.add_argument("--home", help="home directory (absolute)")
    add.add_argument("--mail", help="mail location overriding [mail] location")
    add.set_defaults(func=run_add)

    delete = actions.add_parser(
        "del", help="delete a user", description="Delete a user (the mail stays on disk)."
    )
    _nested_config_option(delete)
    delete.add_argument("name")
    delete.set_defaults(func=run_del)

    passwd = actions.add_parser("passwd", help="set a password", description="Set a password.")
    _nested_config_option(passwd)
    passwd.add_argument("name")
    _password_options(passwd)
    passwd.set_defaults(func=run_passwd)

    listing = actions.add_parser("list", help="list users", description="List the users.")
    _nested_config_option(listing)
    listing.add_argument(
        "-l", "--long", action="store_true", help="with uid, gid, home and mail location"
    )
    listing.set_defaults(func=run_list)


def _password_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-p", "--password", help="the password (else prompted twice)")
    parser.add_argument("-s", "--scheme", default=DEFAULT_SCHEME, help="default %(default)s")


def _fail(message: object) -> int:
    print(f"maa user: {message}", file=sys.stderr)
    return 1


def _hash(args: argparse.Namespace) -> str:
    return hash_password(new_password(args.password), args.scheme, user=args.name)


def _users_file(config: Config) -> Path:
    return Path(config.auth.passwd_file)


def run_add(args: argparse.Namespace) -> int:
    config = load(args)
    try:
        line = make_line(
            args.name,
            _hash(args),
            uid=args.uid,
            gid=args.gid,
            home=args.home,
            mail=args.mail,
        )
        add_user(_users_file(config), line, config.mail_location_base())
    except (PasswordInputError, UnknownSchemeError, LineError, UserExistsError) as e:
        return _fail(e)
    except OSError as e:
        return _fail(f"{e.filename or _users_file(config)}: {e.strerror}")
    print(f"added {args.name}")
    return 0


def run_del(args: argparse.Namespace) -> int:
    config = load(args)
    try:
        delete_user(_users_file(config), args.name)
    except UserNotFoundError as e:
        return _fail(e)
    except OSError as e:
        return _fail(f"{e.filename or _users_file(config)}: {e.strerror}")
    print(f"deleted {args.name} (its mail is left on disk)")
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    config = load(args)
    try:
        set_password(_users_file(config), args.name, _hash(args))
    except (PasswordInputError, UnknownSchemeError, LineError, UserNotFoundError) as e:
        return _fail(e)
    except OSError as e:
        return _fail(f"{e.filename or _users_file(config)}: {e.strerror}")
    print(f"password of {args.name} changed")
    return 0


def run_list(args: argparse.Namespace) -> int:
    config = load(args)
    for user in open_passwd_file(config).users():
        if args.long:
            fields = [
                user.login,
                "" if user.uid is None else str(user.uid),
                "" if user.gid is None else str(user.gid),
                user.home or "",
                user.mail_location,
            ]
            print("\t".join(fields))
        else:
            print(user.login)
    return 0
