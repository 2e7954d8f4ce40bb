"""Dovecot's password schemes: checking a password against a stored ``{SCHEME}value`` and
making new ones.

Crypt strings (``$1$``, ``$5$``, ``$6$``, ``$2y$``, DES, ``$argon2i$``...) go to passlib; the
plain digests of Dovecot (``SHA256``, ``SSHA512``, ``PLAIN-MD5``...) are one ``hashlib`` call
each, so they are written here; ``CRAM-MD5`` needs an MD5 chaining state (``cram_md5.py``).
Every comparison is constant-time (passlib's own, or ``hmac.compare_digest``).

A stored value is the raw value in the scheme's default encoding (``{SHA256}`` is base64,
``{PLAIN-MD5}`` hex, crypt strings as they are); a ``.HEX`` or ``.B64`` suffix on the scheme
name overrides it, as in Dovecot. A value without ``{SCHEME}`` is CRYPT (Dovecot's
``default_pass_scheme``), which accepts every crypt string libc or passlib knows.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import secrets
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from passlib.context import CryptContext
from passlib.hash import argon2, bcrypt, des_crypt, md5_crypt, sha256_crypt, sha512_crypt

from maa.auth.cram_md5 import CONTEXT_LEN, cram_md5_context

DEFAULT_SCHEME = "SHA512-CRYPT"
# Dovecot's default_pass_scheme for values with no {SCHEME} prefix.
DEFAULT_PASS_SCHEME = "CRYPT"

Encoding = Literal["none", "hex", "b64"]


class UnknownSchemeError(ValueError):
    def __init__(self, scheme: str) -> None:
        self.scheme = scheme
        super().__init__(f"unknown password scheme {scheme!r}")


class MalformedHashError(ValueError):
    """A stored value that cannot be decoded for its scheme."""


# Everything passlib verifies for the CRYPT family; identify() picks the handler by prefix.
_CRYPT_CONTEXT = CryptContext(
    schemes=["sha512_crypt", "sha256_crypt", "md5_crypt", "bcrypt", "argon2", "des_crypt"]
)


def _load_libc_crypt() -> Callable[[str, str], str | None] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt
        except ImportError:  # Python 3.13 dropped the module
            return None
    return crypt.crypt


# libc's crypt(3): the only way to yescrypt ($y$, today's /etc/shadow default), and three
# times faster than passlib's pure-Python SHA-crypt.
_LIBC_CRYPT = _load_libc_crypt()
_LIBC_FIRST = ("$1$", "$5$", "$6$")


def _libc_crypt(password: bytes, stored: str) -> bool | None:
    """None when libc cannot answer (no crypt module, password not UTF-8, unknown method)."""
    if _LIBC_CRYPT is None:
        return None
    try:
        result = _LIBC_CRYPT(password.decode("utf-8"), stored)
    except (UnicodeDecodeError, ValueError, OSError):
        return None
    if not result or result.startswith("*"):  # "*0"/"*1": the method is not supported
        return None
    return hmac.compare_digest(result.encode(), stored.encode())


def _verify_crypt(raw: bytes, password: bytes, user: str) -> bool:
    try:
        stored = raw.decode("ascii")
    except UnicodeDecodeError:
        return False
    if not stored:
        return False
    if stored.startswith(_LIBC_FIRST):
        answer = _libc_crypt(password, stored)
        if answer is not None:
            return answer
    try:
        if _CRYPT_CONTEXT.identify(stored) is not None:
            return bool(_CRYPT_CONTEXT.verify(password, stored))
    except (ValueError, TypeError):  # NUL in a DES password, bcrypt's 72-byte limit, bad salt
        return False
    return _libc_crypt(password, stored) is True


def _crypt_generator(
    make: Callable[[int | None], Callable[[bytes], str]],
) -> Callable[[bytes, str, int | None], bytes]:
    def generate(password: bytes, user: str, rounds: int | None) -> bytes:
        return make(rounds)(password).encode("ascii")

    return generate


# Dovecot's defaults: glibc's 5000 rounds for SHA*-CRYPT (no "rounds=" in the string),
# bcrypt cost 5 with the $2y$ ident, argon2 as libsodium's interactive/moderate limits.
_GEN_SHA512 = _crypt_generator(lambda r: sha512_crypt.using(rounds=r or 5000).hash)
_GEN_SHA256 = _crypt_generator(lambda r: sha256_crypt.using(rounds=r or 5000).hash)
_GEN_MD5 = _crypt_generator(lambda r: md5_crypt.hash)
_GEN_DES = _crypt_generator(lambda r: des_crypt.hash)
_GEN_BLF = _crypt_generator(lambda r: bcrypt.using(ident="2y", rounds=r or 5).hash)
_GEN_ARGON2I = _crypt_generator(
    lambda r: argon2.using(type="I", memory_cost=32768, rounds=r or 4, parallelism=1).hash
)
_GEN_ARGON2ID = _crypt_generator(
    lambda r: argon2.using(type="ID", memory_cost=65536, rounds=r or 3, parallelism=1).hash
)


def _digest_scheme(algorithm: str) -> tuple[Callable[..., bool], Callable[..., bytes]]:
    def verify(raw: bytes, password: bytes, user: str) -> bool:
        return hmac.compare_digest(raw, hashlib.new(algorithm, password).digest())

    def generate(password: bytes, user: str, rounds: int | None) -> bytes:
        return hashlib.new(algorithm, password).digest()

    return verify, generate


def _salted_scheme(algorithm: str) -> tuple[Callable[..., bool], Callable[..., bytes]]:
    size = hashlib.new(algorithm).digest_size

    def verify(raw: bytes, password: bytes, user: str) -> bool:
        if len(raw) <= size:
            return False
        digest, salt = raw[:size], raw[size:]
        return hmac.compare_digest(digest, hashlib.new(algorithm, password + salt).digest())

    def generate(password: bytes, user: str, rounds: int | None) -> bytes:
        salt = secrets.token_bytes(8)
        return hashlib.new(algorithm, password + salt).digest() + salt

    return verify, generate


def _md4(data: bytes) -> bytes:
    try:
        return hashlib.new("md4", data).digest()
    except ValueError:  # OpenSSL 3 without the legacy provider
        from passlib.crypto.digest import lookup_hash

        return bytes(lookup_hash("md4").const(data).digest())


def _verify_plain(raw: bytes, password: bytes, user: str) -> bool:
    return hmac.compare_digest(raw, password)


def _generate_plain(password: bytes, user: str, rounds: int | None) -> bytes:
    return password


def _verify_md4(raw: bytes, password: bytes, user: str) -> bool:
    return hmac.compare_digest(raw, _md4(password))


def _generate_md4(password: bytes, user: str, rounds: int | None) -> bytes:
    return _md4(password)


def _verify_cram(raw: bytes, password: bytes, user: str) -> bool:
    return hmac.compare_digest(raw, cram_md5_context(password))


def _generate_cram(password: bytes, user: str, rounds: int | None) -> bytes:
    return cram_md5_context(password)


def _digest_md5(password: bytes, user: str) -> bytes:
    """MD5 of ``user:realm:password``, the realm being the user's domain (RFC 2831 A1)."""
    name, _, realm = user.partition("@")
    return hashlib.md5(f"{name}:{realm}:".encode() + password).digest()


def _verify_digest_md5(raw: bytes, password: bytes, user: str) -> bool:
    return hmac.compare_digest(raw, _digest_md5(password, user))


def _generate_digest_md5(password: bytes, user: str, rounds: int | None) -> bytes:
    if not user:
        raise ValueError("DIGEST-MD5 needs the user name")
    return _digest_md5(password, user)


_CRYPT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _verify_pbkdf2(raw: bytes, password: bytes, user: str) -> bool:
    """Dovecot's ``$1$SALT$ROUNDS$HEX``: PBKDF2-HMAC-SHA1 over the salt text."""
    parts = raw.split(b"$")
    if len(parts) != 5 or parts[0] or parts[1] != b"1" or not parts[3].isdigit():
        return False
    try:
        expected = bytes.fromhex(parts[4].decode("ascii"))
    except ValueError:
        return False
    got = hashlib.pbkdf2_hmac("sha1", password, parts[2], int(parts[3]), len(expected) or 20)
    return hmac.compare_digest(got, expected)


def _generate_pbkdf2(password: bytes, user: str, rounds: int | None) -> bytes:
    salt = "".join(secrets.choice(_CRYPT_ALPHABET) for _ in range(16)).encode()
    rounds = rounds or 5000
    digest = hashlib.pbkdf2_hmac("sha1", password, salt, rounds).hex()
    return b"$1$" + salt + b"$" + str(rounds).encode() + b"$" + digest.encode()


def _scram_scheme(algorithm: str) -> tuple[Callable[..., bool], Callable[..., bytes]]:
    """RFC 5802 stored form, as Dovecot writes it: ``ITER,SALT,STOREDKEY,SERVERKEY`` (base64)."""

    def keys(password: bytes, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
        salted = hashlib.pbkdf2_hmac(algorithm, password, salt, iterations)
        client_key = hmac.digest(salted, b"Client Key", algorithm)
        stored = hashlib.new(algorithm, client_key).digest()
        return stored, hmac.digest(salted, b"Server Key", algorithm)

    def verify(raw: bytes, password: bytes, user: str) -> bool:
        parts = raw.split(b",")
        if len(parts) != 4 or not parts[0].isdigit():
            return False
        try:
            salt, stored, server = (base64.b64decode(p, validate=True) for p in parts[1:])
        except binascii.Error:
            return False
        got_stored, got_server = keys(password, salt, int(parts[0]))
        return hmac.compare_digest(got_stored + got_server, stored + server)

    def generate(password: bytes, user: str, rounds: int | None) -> bytes:
        iterations = rounds or 4096
        salt = secrets.token_bytes(16)
        stored, server = keys(password, salt, iterations)
        fields = [str(iterations).encode()] + [base64.b64encode(v) for v in (salt, stored, server)]
        return b",".join(fields)

    return verify, generate


@dataclass(frozen=True)
class Scheme:
    # How the raw value is written when the scheme name has no .HEX/.B64 suffix.
    encoding: Encoding
    # Size of the raw value when fixed: lets a value written in the other encoding be
    # recognised, as Dovecot's password_decode does.
    raw_len: int | None
    verify: Callable[[bytes, bytes, str], bool]
    generate: Callable[[bytes, str, int | None], bytes]
    # Slow on purpose (key stretching): checked off the reactor thread.
    expensive: bool = False


_SHA1 = _digest_scheme("sha1")
_SHA256 = _digest_scheme("sha256")
_SHA512 = _digest_scheme("sha512")
_MD5 = _digest_scheme("md5")
_SSHA = _salted_scheme("sha1")
_SSHA256 = _salted_scheme("sha256")
_SSHA512 = _salted_scheme("sha512")
_SMD5 = _salted_scheme("md5")
_SCRAM1 = _scram_scheme("sha1")
_SCRAM256 = _scram_scheme("sha256")


def _crypt(generate: Callable[[bytes, str, int | None], bytes]) -> Scheme:
    return Scheme("none", None, _verify_crypt, generate, expensive=True)


SCHEMES: dict[str, Scheme] = {
    "PLAIN": Scheme("none", None, _verify_plain, _generate_plain),
    "CLEARTEXT": Scheme("none", None, _verify_plain, _generate_plain),
    "CLEAR": Scheme("none", None, _verify_plain, _generate_plain),
    # Dovecot's CRYPT makes bcrypt strings nowadays and checks any crypt string.
    "CRYPT": _crypt(_GEN_BLF),
    "DES-CRYPT": _crypt(_GEN_DES),
    "MD5-CRYPT": _crypt(_GEN_MD5),
    "MD5": _crypt(_GEN_MD5),  # Dovecot's old name for MD5-CRYPT
    "SHA256-CRYPT": _crypt(_GEN_SHA256),
    "SHA512-CRYPT": _crypt(_GEN_SHA512),
    "BLF-CRYPT": _crypt(_GEN_BLF),
    "ARGON2I": _crypt(_GEN_ARGON2I),
    "ARGON2ID": _crypt(_GEN_ARGON2ID),
    "SHA": Scheme("b64", 20, *_SHA1),
    "SHA1": Scheme("b64", 20, *_SHA1),
    "SHA256": Scheme("b64", 32, *_SHA256),
    "SHA512": Scheme("b64", 64, *_SHA512),
    "SSHA": Scheme("b64", None, *_SSHA),
    "SSHA256": Scheme("b64", None, *_SSHA256),
    "SSHA512": Scheme("b64", None, *_SSHA512),
    "SMD5": Scheme("b64", None, *_SMD5),
    "PLAIN-MD5": Scheme("hex", 16, *_MD5),
    "LDAP-MD5": Scheme("b64", 16, *_MD5),
    "PLAIN-MD4": Scheme("hex", 16, _verify_md4, _generate_md4),
    "CRAM-MD5": Scheme("hex", CONTEXT_LEN, _verify_cram, _generate_cram),
    "HMAC-MD5": Scheme("hex", CONTEXT_LEN, _verify_cram, _generate_cram),
    "DIGEST-MD5": Scheme("hex", 16, _verify_digest_md5, _generate_digest_md5),
    "PBKDF2": Scheme("none", None, _verify_pbkdf2, _generate_pbkdf2, expensive=True),
    "SCRAM-SHA-1": Scheme("none", None, *_SCRAM1, expensive=True),
    "SCRAM-SHA-256": Scheme("none", None, *_SCRAM256, expensive=True),
}

_SUFFIXES: dict[str, Encoding] = {".HEX": "hex", ".B64": "b64", ".BASE64": "b64"}


@dataclass(frozen=True)
class StoredPassword:
    """A stored value split into its scheme, encoding and the text after ``}``."""

    name: str  # the scheme name without suffix, upper-case
    scheme: Scheme
    encoding: Encoding
    value: str

    def raw(self) -> bytes:
        return _decode(self.value, self.encoding, self.scheme.raw_len)


@functools.lru_cache(maxsize=256)
def parse_scheme_name(name: str) -> tuple[str, Scheme, Encoding]:
    upper = name.upper()
    for suffix, encoding in _SUFFIXES.items():
        if upper.endswith(suffix):
            base = upper[: -len(suffix)]
            if base in SCHEMES:
                return base, SCHEMES[base], encoding
    scheme = SCHEMES.get(upper)
    if scheme is None:
        raise UnknownSchemeError(name)
    return upper, scheme, scheme.encoding


def parse_stored(stored: str) -> StoredPassword:
    """Split ``{SCHEME}value``; a value with no prefix is CRYPT. Raises UnknownSchemeError."""
    name = DEFAULT_PASS_SCHEME
    value = stored
    if stored.startswith("{"):
        end = stored.find("}")
        if end > 0:
            name, value = stored[1:end], stored[end + 1 :]
    base, scheme, encoding = parse_scheme_name(name)
    return StoredPassword(base, scheme, encoding, value)


def _decode_one(value: str, encoding: Encoding) -> bytes:
    if encoding == "hex":
        return bytes.fromhex(value)
    if encoding == "b64":
        return base64.b64decode(value, validate=True)
    return value.encode("utf-8", "surrogateescape")


def _decode(value: str, encoding: Encoding, raw_len: int | None) -> bytes:
    if encoding == "none":
        return _decode_one(value, encoding)
    # Some lengths are valid as both hex and base64: try the declared one, then the other.
    other: Encoding = "b64" if encoding == "hex" else "hex"
    for candidate in (encoding, other):
        try:
            raw = _decode_one(value, candidate)
        except (ValueError, binascii.Error):
            continue
        if raw_len is None or len(raw) == raw_len:
            return raw
    raise MalformedHashError(f"value is not valid {encoding} for this scheme")


def _encode(raw: bytes, encoding: Encoding) -> str:
    if encoding == "hex":
        return raw.hex()
    if encoding == "b64":
        return base64.b64encode(raw).decode("ascii")
    return raw.decode("utf-8", "surrogateescape")


def _password_bytes(password: str | bytes) -> bytes:
    return password if isinstance(password, bytes) else password.encode("utf-8")


def verify_password(stored: str, password: str | bytes, *, user: str = "") -> bool:
    """Whether ``password`` matches ``stored``. ``user`` is needed by DIGEST-MD5 only.

    Raises UnknownSchemeError for a scheme this module does not know; a value that cannot be
    decoded, or an empty one, never matches.
    """
    parsed = parse_stored(stored)
    try:
        raw = parsed.raw()
    except MalformedHashError:
        return False
    if not raw:
        return False
    return parsed.scheme.verify(raw, _password_bytes(password), user)


def is_expensive(stored: str) -> bool:
    """Whether checking against ``stored`` is deliberately slow (run it off the reactor)."""
    try:
        return parse_stored(stored).scheme.expensive
    except UnknownSchemeError:
        return False


def hash_password(
    password: str | bytes,
    scheme: str = DEFAULT_SCHEME,
    *,
    user: str = "",
    rounds: int | None = None,
) -> str:
    """A new ``{SCHEME}value`` for ``password`` (``doveadm pw``). ``rounds`` is the cost
    parameter of the stretching schemes (SHA*-CRYPT rounds, BLF-CRYPT cost, PBKDF2, SCRAM)."""
    base, parsed, encoding = parse_scheme_name(scheme)
    raw = parsed.generate(_password_bytes(password), user, rounds)
    suffix = "" if encoding == parsed.encoding else {"hex": ".HEX", "b64": ".B64"}[encoding]
    return f"{{{base}{suffix}}}{_encode(raw, encoding)}"
