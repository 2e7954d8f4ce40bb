"""``maa auth test|lookup`` against the test users."""

from __future__ import annotations

import pytest

from maa.cli import main
from maa.config import Config


def test_auth_test_good_and_bad(maa_config: Config, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(maa_config.path)
    assert main(["auth", "test", "dave@example.test", "secret", "-c", cfg]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "passdb: dave@example.test auth succeeded"
    assert "  user=dave@example.test" in out
    assert f"  mail=maildir:{maa_config.data_dir}/mail/example.test/dave" in out
    assert main(["auth", "test", "dave@example.test", "wrong", "-c", cfg]) == 1
    assert main(["auth", "test", "nobody@example.test", "secret", "-c", cfg]) == 1
    assert capsys.readouterr().out.count("auth failed") == 2


def test_auth_lookup(maa_config: Config, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(maa_config.path)
    assert main(["auth", "lookup", "carol", "-c", cfg]) == 0
    assert f"  mail=maildir:{maa_config.data_dir}/mail/carol" in capsys.readouterr().out
    assert main(["auth", "lookup", "nobody@example.test", "-c", cfg]) == 1
    assert "doesn't exist" in capsys.readouterr().err


def test_auth_test_bad_config_exits_with_ex_config(tmp_path: object) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["auth", "test", "a", "b", "-c", "/nonexistent/maa.toml"])
    assert exit_info.value.code == 78
