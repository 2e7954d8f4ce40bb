"""Password schemes against hashes made by Dovecot's own ``doveadm pw``."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maa.auth.cram_md5 import cram_md5_context
from maa.auth.schemes import (
    SCHEMES,
    UnknownSchemeError,
    hash_password,
    is_expensive,
    parse_stored,
    verify_password,
)

HASHES = Path(__file__).with_name("doveadm_hashes.txt")


def _doveadm_hashes() -> list[tuple[str, str, str, str]]:
    rows = []
    for line in HASHES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            scheme, user, password, stored = line.split("\t")
            rows.append((scheme, user, password, stored))
    return rows


DOVEADM = _doveadm_hashes()
# Made by libxcrypt (Debian's libc crypt), the default of /etc/shadow today; passlib does not
# know yescrypt, so this one goes through libc.
YESCRYPT = "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$GmcwIgvdUC9qLWcKCi6gklUa1dM3ziD43YxYNURLKy0"


def test_fixture_covers_every_required_scheme() -> None:
    required = {
        "PLAIN", "CLEARTEXT", "CRYPT", "MD5-CRYPT", "SHA256-CRYPT", "SHA512-CRYPT", "BLF-CRYPT",
        "ARGON2I", "ARGON2ID", "SSHA", "SSHA256", "SSHA512", "SHA", "SHA256", "SHA512",
        "PLAIN-MD5", "CRAM-MD5", "SHA256.HEX", "PLAIN.B64",
    }  # fmt: skip
    assert required <= {row[0] for row in DOVEADM}


@pytest.mark.parametrize(
    ("scheme", "user", "password", "stored"), DOVEADM, ids=[f"{r[0]}-{r[2]}" for r in DOVEADM]
)
def test_doveadm_hash_accepts_right_and_refuses_wrong_password(
    scheme: str, user: str, password: str, stored: str
) -> None:
    assert stored.startswith("{" + scheme + "}")
    assert verify_password(stored, password, user=user)
    # Changed in the first character: DES-CRYPT only looks at 8 bytes.
    assert not verify_password(stored, "x" + password, user=user)
    assert not verify_password(stored, "", user=user)


def test_password_as_bytes_is_compared_as_is() -> None:
    stored = next(r[3] for r in DOVEADM if r[0] == "SHA512-CRYPT" and r[2] == "pässword 1")
    assert verify_password(stored, "pässword 1".encode())
    assert not verify_password(stored, "pässword 1".encode("latin-1"))


def test_value_without_prefix_is_crypt() -> None:
    for scheme in ("MD5-CRYPT", "SHA256-CRYPT", "SHA512-CRYPT", "BLF-CRYPT", "DES-CRYPT"):
        row = next(r for r in DOVEADM if r[0] == scheme)
        bare = row[3].split("}", 1)[1]
        assert parse_stored(bare).name == "CRYPT"
        assert verify_password(bare, row[2])
        assert not verify_password(bare, "x" + row[2])


def test_yescrypt_goes_through_libc() -> None:
    assert verify_password(YESCRYPT, "secret")
    assert verify_password("{CRYPT}" + YESCRYPT, "secret")
    assert not verify_password(YESCRYPT, "Secret")


def test_scheme_names_are_case_insensitive() -> None:
    assert verify_password("{plain}secret", "secret")
    assert verify_password(
        "{sha256.hex}" + "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b",
        "secret",
    )


def test_unknown_scheme_raises() -> None:
    with pytest.raises(UnknownSchemeError):
        verify_password("{ROT13}frperg", "secret")
    with pytest.raises(UnknownSchemeError):
        hash_password("secret", "ROT13")


@pytest.mark.parametrize(
    "stored",
    ["{SHA256}not base64!", "{PLAIN-MD5}zz", "{SHA}", "{PLAIN}", "", "{CRYPT}", "{SSHA}AAAA",
     "{PBKDF2}$1$x$notanumber$00", "{SCRAM-SHA-1}1,a,b", "{CRAM-MD5}00"],
)  # fmt: skip
def test_malformed_stored_value_never_matches(stored: str) -> None:
    assert not verify_password(stored, "")
    assert not verify_password(stored, "secret")


def test_hex_value_in_a_base64_scheme_is_recognised_like_dovecot() -> None:
    # Dovecot's password_decode retries the other encoding when the size is wrong.
    hex_sha1 = "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"  # sha1("secret")
    assert verify_password("{SHA}" + hex_sha1, "secret")


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_hash_password_round_trip(scheme: str) -> None:
    user = "alice@example.test"
    # Argon2 costs a quarter second per hash by design: one encoding is enough there.
    suffixes = ("",) if scheme.startswith("ARGON2") else ("", ".HEX", ".B64")
    for name in (scheme + suffix for suffix in suffixes):
        stored = hash_password("pässword 1", name, user=user)
        assert stored.startswith("{" + scheme)
        assert verify_password(stored, "pässword 1", user=user)
        assert not verify_password(stored, "xpässword 1", user=user)


def test_generated_crypt_strings_look_like_dovecots() -> None:
    assert hash_password("s", "BLF-CRYPT").startswith("{BLF-CRYPT}$2y$05$")
    assert hash_password("s", "SHA512-CRYPT").startswith("{SHA512-CRYPT}$6$")
    assert "rounds=" not in hash_password("s", "SHA512-CRYPT")
    assert hash_password("s", "ARGON2I").startswith("{ARGON2I}$argon2i$")
    assert hash_password("s", "ARGON2ID").startswith("{ARGON2ID}$argon2id$")
    assert hash_password("s", "SHA256-CRYPT", rounds=6000).startswith(
        "{SHA256-CRYPT}$5$rounds=6000$"
    )
    assert hash_password("secret", "PLAIN.B64") == "{PLAIN.B64}c2VjcmV0"


def test_salted_hashes_differ_each_time() -> None:
    assert hash_password("s", "SSHA512") != hash_password("s", "SSHA512")


def test_empty_stored_value_or_password_never_matches() -> None:
    # Dovecot would accept an empty {PLAIN} password; an empty secret is no secret.
    assert not verify_password("{PLAIN}", "")
    assert not verify_password(hash_password("", "PLAIN.B64"), "")


def test_digest_md5_needs_the_user() -> None:
    with pytest.raises(ValueError):
        hash_password("secret", "DIGEST-MD5")


def test_expensive_schemes() -> None:
    assert is_expensive("{SHA512-CRYPT}$6$x$y")
    assert is_expensive("$2y$05$abc")
    assert not is_expensive("{PLAIN}x")
    assert not is_expensive("{SSHA256}x")
    assert not is_expensive("{NOSUCH}x")


def test_cram_md5_context_long_key_is_hashed_first() -> None:
    long_password = b"p" * 100
    assert len(cram_md5_context(long_password)) == 32
    stored = hash_password(long_password, "CRAM-MD5")
    assert verify_password(stored, long_password)
    assert not verify_password(stored, b"p" * 99)


@settings(max_examples=50, deadline=None)
@given(
    st.text(min_size=1, max_size=80),
    st.sampled_from(["SSHA256", "PLAIN-MD5", "CRAM-MD5", "PLAIN.B64"]),
)
def test_any_password_round_trips(password: str, scheme: str) -> None:
    stored = hash_password(password, scheme)
    assert verify_password(stored, password)
    assert not verify_password(stored, password + "x")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_stored_values_never_crash(stored: str) -> None:
    try:
        verify_password(stored, "secret")
    except UnknownSchemeError:
        pass
