"""``maa pw``: hashes that the users file (and Dovecot) accept."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from support import REPO

from maa.auth.schemes import SCHEMES, verify_password
from maa.cli import main


def run_maa(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m maa`` detached from any terminal, so getpass reads stdin."""
    return subprocess.run(
        [sys.executable, "-m", "maa", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        start_new_session=True,
        timeout=60,
    )


def test_pw_default_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pw", "-p", "secret"]) == 0
    stored = capsys.readouterr().out.strip()
    assert stored.startswith("{SHA512-CRYPT}$6$")
    assert verify_password(stored, "secret")
    assert not verify_password(stored, "Secret")


@pytest.mark.parametrize("scheme", ["SSHA256", "PLAIN-MD5", "CRAM-MD5", "BLF-CRYPT", "PLAIN.B64"])
def test_pw_schemes(capsys: pytest.CaptureFixture[str], scheme: str) -> None:
    assert main(["pw", "-s", scheme, "-p", "pässword"]) == 0
    stored = capsys.readouterr().out.strip()
    assert stored.startswith("{" + scheme + "}")
    assert verify_password(stored, "pässword")


def test_pw_user_and_rounds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pw", "-s", "DIGEST-MD5", "-u", "alice@example.test", "-p", "secret"]) == 0
    # The same value `doveadm pw -s DIGEST-MD5 -u alice@example.test -p secret` printed.
    assert capsys.readouterr().out.strip() == "{DIGEST-MD5}4842575394a190ef4c973253ba19099c"
    assert main(["pw", "-s", "SHA256-CRYPT", "-r", "7000", "-p", "x"]) == 0
    assert "$5$rounds=7000$" in capsys.readouterr().out


def test_pw_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pw", "-l"]) == 0
    assert set(capsys.readouterr().out.split()) == set(SCHEMES)


def test_pw_test_mode(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pw", "-t", "{PLAIN-MD5}5ebe2294ecd0e0f08eab7690d2a6ee69", "-p", "secret"]) == 0
    assert "(verified)" in capsys.readouterr().out
    assert main(["pw", "-t", "{PLAIN-MD5}5ebe2294ecd0e0f08eab7690d2a6ee69", "-p", "x"]) == 1


def test_pw_refuses_unknown_scheme_and_empty_password(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pw", "-s", "ROT13", "-p", "x"]) == 1
    assert "ROT13" in capsys.readouterr().err
    assert main(["pw", "-p", ""]) == 1
    assert "empty" in capsys.readouterr().err


def test_pw_prompts_twice() -> None:
    result = run_maa("pw", "-s", "SSHA512", stdin="typed secret\ntyped secret\n")
    assert result.returncode == 0, result.stderr
    assert verify_password(result.stdout.strip().splitlines()[-1], "typed secret")
    mismatch = run_maa("pw", stdin="one\ntwo\n")
    assert mismatch.returncode == 1
    assert "don't match" in mismatch.stderr
