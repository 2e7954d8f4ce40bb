"""Dovecot itself as the judge: hashes from ``maa pw`` and users files written by
``maa user add`` must work in Dovecot 2.3 unchanged (and Dovecot's hashes in maa: see
tests/auth/doveadm_hashes.txt)."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import write_config

from maa.auth import open_passwd_file
from maa.auth.schemes import SCHEMES, hash_password
from maa.cli import main
from maa.config import Config, load_config

pytestmark = pytest.mark.integration

DOVEADM = shutil.which("doveadm")
DOVECOT = shutil.which("dovecot")
# Schemes Dovecot 2.3 checks with its own code (all of maa's).
USER = "alice@example.test"


def doveadm(*args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert DOVEADM is not None
    base = [DOVEADM] + (["-c", str(config)] if config else ["-o", "stats_writer_socket_path="])
    return subprocess.run([*base, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(DOVEADM is None, reason="doveadm (Debian dovecot-core) is not installed")
@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_doveadm_verifies_maa_hashes(scheme: str) -> None:
    for name in (scheme, scheme + ".HEX") if not scheme.startswith("ARGON2") else (scheme,):
        stored = hash_password("pässword 1", name, user=USER)
        good = doveadm("pw", "-t", stored, "-p", "pässword 1", "-u", USER)
        assert good.returncode == 0, (stored, good.stderr)
        assert "(verified)" in good.stdout
        bad = doveadm("pw", "-t", stored, "-p", "xpässword 1", "-u", USER)
        assert bad.returncode != 0, stored


@pytest.fixture
def dovecot_on_maa_users(tmp_path: Path) -> Iterator[tuple[Config, Path]]:
    """A Dovecot instance (no listeners, only its auth service) on maa's users file."""
    if DOVECOT is None or DOVEADM is None:
        pytest.skip("dovecot/doveadm (Debian dovecot-core) is not installed")
    config = load_config(
        write_config(tmp_path / "maa", mail={"location": f"maildir:{tmp_path}/mail/%d/%n"})
    )
    users = Path(config.auth.passwd_file)
    users.write_text("# made by maa user add\n")
    run = tmp_path / "run"
    conf = tmp_path / "dovecot.conf"
    uid, gid = os.getuid(), os.getgid()
    user_name, group_name = pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name
    conf.write_text(
        f"""base_dir = {run}
state_dir = {tmp_path}/state
instance_name = maa-auth-test
protocols =
ssl = no
auth_failure_delay = 0
log_path = {tmp_path}/dovecot.log
default_internal_user = {user_name}
default_internal_group = {group_name}
default_login_user = {user_name}
passdb {{
  driver = passwd-file
  args = {users}
}}
userdb {{
  driver = passwd-file
  args = {users}
  default_fields = uid={uid} gid={gid} mail=maildir:{tmp_path}/mail/%d/%n
}}
service anvil {{
  chroot =
}}
"""
    )
    with (tmp_path / "dovecot.out").open("wb") as out:
        # -F: stays in the foreground, so it is this test's child to stop.
        master = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 10
        while not (run / "auth-client").exists():
            if master.poll() is not None:
                output = (tmp_path / "dovecot.out").read_text(errors="replace")
                pytest.skip(f"dovecot does not start here: {output.strip()}")
            if time.monotonic() > deadline:
                pytest.fail("dovecot's auth service did not come up")
            time.sleep(0.05)
        yield config, conf
    finally:
        if master.poll() is None:
            master.terminate()
            try:
                master.wait(10)
            except subprocess.TimeoutExpired:
                master.kill()
                master.wait()


def _userdb_fields(output: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    in_userdb = False
    for line in output.splitlines():
        if line.startswith("userdb extra fields:"):
            in_userdb = True
        elif in_userdb and "=" in line:
            key, _, value = line.strip().partition("=")
            fields[key] = value
    return fields


@pytest.mark.slow
def test_dovecot_logs_in_users_that_maa_user_add_wrote(
    dovecot_on_maa_users: tuple[Config, Path],
) -> None:
    config, conf = dovecot_on_maa_users
    cfg = str(config.path)
    accounts = {
        "sha512@example.test": "SHA512-CRYPT",
        "blf@example.test": "BLF-CRYPT",
        "cram@example.test": "CRAM-MD5",
        "b64@example.test": "PLAIN.B64",
        "bare": "SHA256-CRYPT",
    }
    for name, scheme in accounts.items():
        assert main(["user", "add", name, "-s", scheme, "-p", "pässword:1", "-c", cfg]) == 0
    argv = ["user", "add", "homed@example.test", "-p", "x", "--home", "/home/homed"]
    assert main([*argv, "--mail", "maildir:~/Maildir", "-c", cfg]) == 0
    passwd = open_passwd_file(config)
    for name in accounts:
        good = doveadm("auth", "login", name, "pässword:1", config=conf)
        assert "auth succeeded" in good.stdout, (name, good.stdout, good.stderr)
        ours = passwd.lookup(name)
        assert ours is not None
        # Dovecot leaves "mail//bare" (empty %d) as it is; maa normalises the path.
        assert os.path.normpath(_userdb_fields(good.stdout)["mail"]) == ours.mail_location
    bad = doveadm("auth", "test", "sha512@example.test", "pässword:2", config=conf)
    assert bad.returncode != 0 and "auth failed" in bad.stdout
    homed = doveadm("auth", "login", "homed@example.test", "x", config=conf)
    fields = _userdb_fields(homed.stdout)
    assert fields["home"] == "/home/homed"
    # Dovecot hands "~/" on to the mail process; maa expands it at lookup.
    assert fields["mail"] == "maildir:~/Maildir"
    ours = passwd.lookup("homed@example.test")
    assert ours is not None and ours.mail_location == "maildir:/home/homed/Maildir"
    # A password change by maa is seen by Dovecot as well. Dovecot looks at the file's
    # mtime (whole seconds) and size at most once a second, so give it that second.
    assert main(["user", "passwd", "blf@example.test", "-p", "new", "-c", cfg]) == 0
    deadline = time.monotonic() + 5
    while (
        "auth succeeded"
        not in doveadm("auth", "test", "blf@example.test", "new", config=conf).stdout
    ):
        assert time.monotonic() < deadline, "dovecot never saw the new password"
        time.sleep(0.3)
