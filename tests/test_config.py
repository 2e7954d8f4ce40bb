from __future__ import annotations

from pathlib import Path

import pytest

from maa.config import ConfigError, dump_config, load_config, parse_config

REPO = Path(__file__).resolve().parent.parent


def parse(text: str, tmp_path: Path) -> object:
    return parse_config(text, tmp_path / "maa.toml")


def test_default_config_loads_with_paths_resolved() -> None:
    config = load_config(REPO / "conf" / "maa.toml")
    assert config.server.data_dir == str(REPO / "var")
    assert config.auth.passwd_file == str(REPO / "conf" / "users")
    assert config.tls.cert == str(REPO / "var" / "tls" / "cert.pem")
    assert config.lmtp.listen == ["tcp:10024:interface=127.0.0.1", f"unix:{REPO}/var/lmtp.sock"]
    assert config.mail_location_base() == f"maildir:{REPO}/var/mail/%d/%n"
    # Every default port is unprivileged and on loopback.
    for section in (config.imap, config.pop3, config.submission):
        for endpoint in [*section.listen, *section.listen_tls]:
            port = int(endpoint.split(":")[1])
            assert port > 1024 and "interface=127.0.0.1" in endpoint


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[imapx]\nlisten = []\n", "imapx"),
        ("[imap]\nlisen = []\n", "imap.lisen"),
        ("[imap]\nlisten = 143\n", "imap.listen"),
        ("[imap]\nlisten = [143]\n", "imap.listen"),
        ('[auth]\nfailure_delay = "2s"\n', "auth.failure_delay"),
        ("[auth]\ndisable_plaintext_auth = 1\n", "auth.disable_plaintext_auth"),
        ('[mail]\nlocation = "nowhere"\n', "mail.location"),
        ('[mail]\nlocation = "imapfs:/x"\n', "mail.location"),
        ("imap = 3\n", "imap"),
        ("[server\n", "(syntax)"),
    ],
)
def test_errors_name_the_file_and_key(text: str, key: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse(text, tmp_path)
    assert info.value.key == key
    assert str(info.value).startswith(f"{tmp_path / 'maa.toml'}: {key}:")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "absent.toml")
    assert "absent.toml" in str(info.value)


def test_relative_paths_follow_their_anchor(tmp_path: Path) -> None:
    config = parse_config(
        '[server]\ndata_dir = "data"\n[auth]\npasswd_file = "etc/users"\n'
        '[tls]\ncert = "/etc/ssl/c.pem"\n[lmtp]\nlisten = ["unix:/run/lmtp", "unix:l.sock"]\n',
        tmp_path / "maa.toml",
    )
    assert config.server.data_dir == str(tmp_path / "data")
    assert config.auth.passwd_file == str(tmp_path / "etc" / "users")
    assert config.tls.cert == "/etc/ssl/c.pem"
    assert config.tls.key == str(tmp_path / "data" / "tls" / "key.pem")
    assert config.server.pid_file == str(tmp_path / "data" / "maa.pid")
    assert config.lmtp.listen == ["unix:/run/lmtp", f"unix:{tmp_path}/data/l.sock"]


def test_integers_are_accepted_for_numbers(tmp_path: Path) -> None:
    config = parse_config("[auth]\nfailure_delay = 2\n", tmp_path / "maa.toml")
    assert config.auth.failure_delay == 2.0  # type: ignore[attr-defined]


def test_dump_round_trips_and_n_shows_only_what_was_set(tmp_path: Path) -> None:
    path = tmp_path / "maa.toml"
    path.write_text('[server]\nhostname = "mx.example.org"\n[imap]\nlisten = []\n')
    config = load_config(path)
    explicit = dump_config(config, only_explicit=True)
    assert explicit == '[server]\nhostname = "mx.example.org"\n\n[imap]\nlisten = []\n'
    full = dump_config(config)
    assert "[pop3]" in full and "failure_delay = 2.0" in full
    again = tmp_path / "again.toml"
    again.write_text(full)
    assert load_config(again).imap == config.imap
    assert load_config(again).server == config.server
