from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from maa.cli import VERBS, build_parser


@pytest.mark.parametrize("verb", VERBS)
def test_every_listed_verb_exists_and_takes_a_config(verb: str) -> None:
    module = importlib.import_module(f"maa.cli.{verb}")
    assert callable(module.register)
    help_text = build_parser()._subparsers._group_actions[0].choices[verb].format_help()  # type: ignore[union-attr]
    assert "--config" in help_text


def test_maa_help_runs_as_a_program() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "maa", "--help"], capture_output=True, text=True, check=True
    )
    for verb in VERBS:
        assert verb in result.stdout
