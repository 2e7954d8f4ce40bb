"""What every ``maa`` verb shares: the ``-c/--config`` option and loading the settings."""

from __future__ import annotations

import argparse
import sys

from maa.config import Config, ConfigError, default_config_path, load_config


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help="settings file (default: $MAA_CONFIG, else conf/maa.toml of the source tree, "
        "else /etc/maa/maa.toml)",
    )


def config_path(args: argparse.Namespace) -> str:
    return str(args.config or default_config_path())


def load(args: argparse.Namespace) -> Config:
    """The settings named by ``-c``; exits with status 78 (EX_CONFIG) on an error."""
    try:
        return load_config(config_path(args))
    except ConfigError as e:
        print(f"maa: {e}", file=sys.stderr)
        raise SystemExit(78) from e
