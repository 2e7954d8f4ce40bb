"""``maa auth test`` verifies every doveadm-made hash of tests/auth/doveadm_hashes.txt,
with the users file and settings read from disk as ``maa`` reads them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import write_config

from maa.cli import main

HASHES = Path(__file__).parent.parent / "auth" / "doveadm_hashes.txt"


def _rows() -> list[tuple[str, str, str, str]]:
    rows = []
    for line in HASHES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            scheme, user, password, stored = line.split("\t")
            rows.append((scheme, user, password, stored))
    return rows


ROWS = _rows()


def _config_with(tmp_path: Path, user: str, stored: str) -> Path:
    config = write_config(tmp_path / "etc")
    (tmp_path / "etc" / "users").write_text(f"# one user\n{user}:{stored}::::::\n")
    return config


@pytest.mark.parametrize(
    ("scheme", "user", "password", "stored"),
    ROWS,
    ids=[f"{i}-{row[0]}" for i, row in enumerate(ROWS)],
)
def test_auth_test_every_scheme(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    scheme: str,
    user: str,
    password: str,
    stored: str,
) -> None:
    config = str(_config_with(tmp_path, user, stored))
    assert main(["auth", "test", "-c", config, user, password]) == 0, scheme
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"passdb: {user} auth succeeded"
    assert f"  user={user}" in out
    # "x" in front: DES-CRYPT only looks at the first 8 bytes
    assert main(["auth", "test", "-c", config, user, "x" + password]) == 1, scheme
    assert capsys.readouterr().out.splitlines()[0] == f"passdb: {user} auth failed"


def test_auth_test_as_a_command(tmp_path: Path) -> None:
    _scheme, user, password, stored = next(r for r in ROWS if r[0] == "SHA512-CRYPT")
    config = str(_config_with(tmp_path, user, stored))

    def auth_test(pw: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "maa", "auth", "test", "-c", config, user, pw],
            capture_output=True,
            text=True,
            timeout=60,
        )

    good = auth_test(password)
    assert good.returncode == 0
    assert good.stdout.startswith(f"passdb: {user} auth succeeded\n")
    bad = auth_test("not-" + password)
    assert bad.returncode == 1
    assert bad.stdout == f"passdb: {user} auth failed\n"
