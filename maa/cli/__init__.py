"""The ``maa`` command: one verb a module, each exposing ``register(subparsers)``."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

from maa import __version__

# Verb modules under maa/cli/, in the order ``maa --help`` lists them.
VERBS = (
    "serve",
    "deliver",
    "sendmail",
    "queue",
    "pw",
    "user",
    "auth",
    "config",
    "check",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maa", description="maa mail access server: LMTP, IMAP, POP3 and SMTP submission"
    )
    parser.add_argument("--version", action="version", version=f"maa {__version__}")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        name = f"maa.cli.{verb}"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            continue  # tests/cli/test_verbs.py checks that every listed verb exists
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result
