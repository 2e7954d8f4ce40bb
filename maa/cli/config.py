"""``maa config``: print the effective settings (``-n``: only what the file sets), as
``doveconf`` does."""

from __future__ import annotations

import argparse
import sys

from maa.cli.common import add_config_option, load
from maa.config import dump_config


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "config",
        help="print the effective settings",
        description="Print the settings in effect, defaults included, as TOML.",
    )
    add_config_option(parser)
    parser.add_argument(
        "-n",
        action="store_true",
        help="only the settings the file sets to a non-default value (as doveconf -n)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load(args)
    sys.stdout.write(f"# {config.path}\n")
    sys.stdout.write(dump_config(config, only_explicit=args.n))
    return 0
