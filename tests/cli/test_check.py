"""``maa check``: settings, users file and TLS pair."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from maa.cli import main
from maa.config import Config
from maa.tls import ensure_certificate, make_self_signed


def check(config: Config) -> int:
    return main(["check", "-c", str(config.path)])


def test_check_ok(maa_config: Config, capsys: pytest.CaptureFixture[str]) -> None:
    os.chmod(maa_config.auth.passwd_file, 0o600)
    ensure_certificate(Path(maa_config.tls.cert), Path(maa_config.tls.key), "mail.example.test")
    assert check(maa_config) == 0
    assert capsys.readouterr().out == "ok\n"


def test_check_reports_bad_users_lines(
    maa_config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    path = Path(maa_config.auth.passwd_file)
    lines = path.read_text().splitlines()
    lines[1:1] = ["../evil@example.test:{PLAIN}x", "# fine", "ok@example.test:{ROT13}x"]
    path.write_text("\n".join(lines) + "\n")
    assert check(maa_config) == 1
    out = capsys.readouterr().out
    assert f"error: {path}:2: user name '../evil' starts with a dot (line skipped)" in out
    assert f"error: {path}:4: unknown password scheme 'ROT13' (login disabled)" in out
    assert "ok" not in out.split()


def test_check_names_a_bad_setting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "maa.toml"
    path.write_text('[mail]\nlocation = "nowhere"\n')
    assert main(["check", "-c", str(path)]) == 1
    assert "mail.location" in capsys.readouterr().out
    path.write_text("[imap]\nlisten = 143\n")
    assert main(["check", "-c", str(path)]) == 1
    assert "imap.listen" in capsys.readouterr().out


def test_check_missing_users_file(maa_config: Config, capsys: pytest.CaptureFixture[str]) -> None:
    os.unlink(maa_config.auth.passwd_file)
    assert check(maa_config) == 1
    assert "no such file (auth.passwd_file)" in capsys.readouterr().out


def test_check_tls_pair_mismatch(maa_config: Config, capsys: pytest.CaptureFixture[str]) -> None:
    cert, key = Path(maa_config.tls.cert), Path(maa_config.tls.key)
    ensure_certificate(cert, key, "mail.example.test")
    _other_cert, other_key = make_self_signed("other.example.test")
    key.write_bytes(other_key)
    assert check(maa_config) == 1
    assert "does not match the certificate" in capsys.readouterr().out
    key.write_bytes(b"garbage")
    assert check(maa_config) == 1
    assert "not a PEM private key" in capsys.readouterr().out
    key.unlink()
    assert check(maa_config) == 1
    assert "no such file (tls.key)" in capsys.readouterr().out


def test_check_warns_about_a_world_readable_users_file(
    maa_config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    os.chmod(maa_config.auth.passwd_file, 0o644)
    assert check(maa_config) == 0
    out = capsys.readouterr().out
    assert "readable by everyone" in out and out.endswith("ok\n")
