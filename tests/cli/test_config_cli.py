"""``maa config``: the effective settings, reloadable as a settings file."""

from __future__ import annotations

from pathlib import Path

import pytest

from maa.cli import main
from maa.config import Config, parse_config


def test_config_prints_every_setting(
    maa_config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "-c", str(maa_config.path)]) == 0
    out = capsys.readouterr().out
    assert "[queue]" in out and "min_backoff = 300.0" in out
    assert "failure_delay = 0.1" in out
    reparsed = parse_config(out, maa_config.path)
    assert reparsed.auth == maa_config.auth
    assert reparsed.queue == maa_config.queue


def test_config_n_prints_only_what_the_file_sets(
    maa_config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "-n", "-c", str(maa_config.path)]) == 0
    out = capsys.readouterr().out
    assert "[auth]" in out and "failure_delay = 0.1" in out
    assert "[queue]" not in out and "disable_plaintext_auth" not in out


def test_config_error_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "maa.toml"
    path.write_text("[auth]\nfailure_dealy = 1\n")
    with pytest.raises(SystemExit):
        main(["config", "-c", str(path)])
    assert "auth.failure_dealy" in capsys.readouterr().err


def test_config_n_leaves_out_keys_set_to_their_default(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "maa.toml"
    path.write_text(
        '[server]\nhostname = "mx.example.org"\ndata_dir = "var"\n'
        "[auth]\nfailure_delay = 2\ndisable_plaintext_auth = true\n"
        '[imap]\nlisten = ["tcp:10143:interface=127.0.0.1"]\n'
        'listen_tls = ["tcp:20993:interface=127.0.0.1"]\n'
        "[queue]\nmin_backoff = 300\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "maa", "config", "-n", "-c", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines() == [
        f"# {path}",
        "[server]",
        'hostname = "mx.example.org"',
        "",
        "[imap]",
        'listen_tls = ["tcp:20993:interface=127.0.0.1"]',
    ]
