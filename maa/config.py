"""maa's settings: one TOML file, read with ``tomllib``, checked against the dataclasses below.

Every section is a frozen dataclass; every key is a field with a default. Adding a setting is
adding a field. A field's ``metadata["relative_to"]`` says how a relative path is resolved:
``"config"`` (the config file's folder) or ``"data"`` (``[server] data_dir``). Endpoint strings
(``listen``) whose type is ``unix`` have their path resolved against ``data_dir`` too.

Unknown sections or keys and wrong types raise ``ConfigError``, which names the file and key.
"""

from __future__ import annotations

import dataclasses
import os
import pwd
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maa.storage.location import LocationError, parse_location

DEFAULT_CONFIG_NAME = "maa.toml"


class ConfigError(Exception):
    def __init__(self, path: Path | str, key: str, message: str) -> None:
        self.path = Path(path)
        self.key = key
        super().__init__(f"{path}: {key}: {message}")


def _config_path(*, default: str) -> Any:
    return field(default=default, metadata={"relative_to": "config"})


def _data_path(*, default: str) -> Any:
    return field(default=default, metadata={"relative_to": "data"})


def _data_path_opt() -> Any:
    return field(default=None, metadata={"relative_to": "data"})


def _config_path_opt() -> Any:
    return field(default=None, metadata={"relative_to": "config"})


def _endpoints(*values: str) -> Any:
    return field(default_factory=lambda: list(values), metadata={"endpoints": True})


@dataclass(frozen=True)
class ServerSection:
    hostname: str = "mail.example.test"
    data_dir: str = _config_path(default="var")
    # Drop to this user's uid/gid after binding, when started as root.
    user: str | None = None
    # Where log lines go; stderr when unset. Relative to data_dir.
    log_file: str | None = _data_path_opt()
    pid_file: str = _data_path(default="maa.pid")


@dataclass(frozen=True)
class AuthSection:
    passwd_file: str = _config_path(default="users")
    # Seconds a failed login waits before its reply, as Dovecot's auth_failure_delay.
    failure_delay: float = 2.0
    # Dovecot's disable_plaintext_auth: no cleartext passwords before TLS except on loopback.
    disable_plaintext_auth: bool = True
    # Domain appended to bare logins that are not found as such (Dovecot's auth_default_realm).
    default_realm: str | None = None


@dataclass(frozen=True)
class MailSection:
    location: str = "maildir:mail/%d/%n"
    recipient_delimiter: str = "+"
    # Largest message accepted by LMTP, submission and APPEND, in bytes (Postfix's
    # message_size_limit default is 10 MB; 50 MB suits today's attachments).
    max_message_size: int = 50 * 1024 * 1024


@dataclass(frozen=True)
class TLSSection:
    cert: str = _data_path(default="tls/cert.pem")
    key: str = _data_path(default="tls/key.pem")


@dataclass(frozen=True)
class IMAPSection:
    listen: list[str] = _endpoints("tcp:10143:interface=127.0.0.1")
    listen_tls: list[str] = _endpoints("tcp:10993:interface=127.0.0.1")
    # RFC 3501 5.4: at least 30 minutes, IDLE included.
    autologout: float = 30 * 60


@dataclass(frozen=True)
class POP3Section:
    listen: list[str] = _endpoints("tcp:10110:interface=127.0.0.1")
    listen_tls: list[str] = _endpoints("tcp:10995:interface=127.0.0.1")
    # RFC 1939 3: at least 10 minutes.
    idle_timeout: float = 10 * 60


@dataclass(frozen=True)
class LMTPSection:
    listen: list[str] = _endpoints("tcp:10024:interface=127.0.0.1", "unix:lmtp.sock")
    # Longest command line (bytes, CRLF excluded) before "500 5.5.2 Line too long": RFC 5321
    # asks for 512, extensions (DSN ORCPT, SMTPUTF8 addresses) need more. DATA lines have no
    # limit: content streams to disk without being held as lines.
    max_line_length: int = 4096
    # Recipients per transaction (RFC 5321 asks for at least 100; Postfix's lmtp client sends
    # up to lmtp_destination_recipient_limit = 50).
    max_recipients: int = 1000


@dataclass(frozen=True)
class SubmissionSection:
    listen: list[str] = _endpoints("tcp:10587:interface=127.0.0.1")
    listen_tls: list[str] = _endpoints("tcp:10465:interface=127.0.0.1")
    # Postfix syntax: "[host]:port" (no MX lookup) or "host" (MX lookup).
    relayhost: str | None = None
    relayhost_user: str | None = None
    relayhost_password: str | None = None
    # Credentials for next hops, Postfix smtp_sasl_password_maps format ("[host]:port  user:pass"
    # or "domain  user:pass"); keeps passwords out of this file. Relative to the config file.
    relayhost_credentials: str | None = _config_path_opt()
    # Domains delivered locally besides those of the users file.
    domains: list[str] = field(default_factory=list)
    # Postfix virtual(5) or aliases(5) format; relative to the config file.
    aliases: str | None = _config_path_opt()
    # Postfix transport(5) format: "domain  smtp:[host]:port".
    transport_maps: str | None = _config_path_opt()
    # Postfix header_checks: "/regex/ ACTION text".
    header_checks: str | None = _config_path_opt()
    # An authenticated user may only send as their own address or an alias of theirs.
    restrict_sender: bool = True


@dataclass(frozen=True)
class SMTPSection:
    # The port 25 role: mail for hosted domains from anyone, relaying only for mynetworks.
    listen: list[str] = _endpoints()
    mynetworks: list[str] = field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])


@dataclass(frozen=True)
class QueueSection:
    # Retry delays: start, doubled after each failure up to the maximum (Postfix's
    # minimal_backoff_time / maximal_backoff_time), and how long a message may stay queued
    # (maximal_queue_lifetime).
    min_backoff: float = 300.0
    max_backoff: float = 3600.0
    lifetime: float = 5 * 24 * 3600.0
    # How often the queue manager looks at the deferred queue.
    run_interval: float = 60.0


@dataclass(frozen=True)
class Config:
    path: Path
    server: ServerSection = field(default_factory=ServerSection)
    auth: AuthSection = field(default_factory=AuthSection)
    mail: MailSection = field(default_factory=MailSection)
    tls: TLSSection = field(default_factory=TLSSection)
    imap: IMAPSection = field(default_factory=IMAPSection)
    pop3: POP3Section = field(default_factory=POP3Section)
    lmtp: LMTPSection = field(default_factory=LMTPSection)
    submission: SubmissionSection = field(default_factory=SubmissionSection)
    smtp: SMTPSection = field(default_factory=SMTPSection)
    queue: QueueSection = field(default_factory=QueueSection)
    # The keys the file set, as written, for `maa config -n`.
    explicit: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)

    @property
    def data_dir(self) -> Path:
        return Path(self.server.data_dir)

    def mail_location_base(self) -> str:
        """``[mail] location`` with its relative paths (PATH and ``INBOX=``) made absolute
        against data_dir; paths from the user's home (``~``, ``%h``) are left to the userdb."""
        try:
            location = parse_location(self.mail.location)
        except LocationError as e:
            raise ConfigError(self.path, "mail.location", str(e)) from None

        def absolute(path: str) -> str:
            if os.path.isabs(path) or path == "~" or path.startswith(_FROM_HOME):
                return path
            return str(self.data_dir / path)

        return str(location.map_paths(absolute))


# Location paths the userdb expands from the user's home directory.
_FROM_HOME = ("~/", "%h", "%{home}")


# Section name -> its dataclass, in file order (string annotations resolved once).
SECTIONS: dict[str, type] = {
    name: hint
    for name, hint in typing.get_type_hints(Config).items()
    if name not in ("path", "explicit")
}


def _check_type(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_check_type(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_check_type(v, item) for v in value)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in typing.get_args(hint) if a is not type(None)]
        return " or ".join(names)
    if origin is list:
        return f"a list of {_type_name(typing.get_args(hint)[0]).removeprefix('a ')}s"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        hint, str(hint)
    )


def resolve_endpoint(endpoint: str, data_dir: Path) -> str:
    """Make a ``unix:PATH`` endpoint's relative path absolute against data_dir."""
    kind, sep, rest = endpoint.partition(":")
    if kind != "unix" or not sep:
        return endpoint
    path, colon, options = rest.partition(":")
    if path.startswith("path="):
        return endpoint
    if not os.path.isabs(path):
        path = os.path.normpath(data_dir / path)
    return f"unix:{path}{colon}{options}"


class _ParseOnlyReactor:
    """Stands in for the reactor when endpoint strings are only parsed: an endpoint keeps
    its reactor for ``listen()``, which is never called on these."""


_UNKNOWN_TYPE = re.compile(r"Unknown endpoint type: ('.*')")


def check_endpoint(description: str) -> str | None:
    """What is wrong with a Twisted server endpoint string, or None. Parses, never binds."""
    from twisted.internet.endpoints import serverFromString

    try:
        endpoint = serverFromString(_ParseOnlyReactor(), description)
    except ValueError as e:
        unknown = _UNKNOWN_TYPE.fullmatch(str(e))
        if unknown:
            return f"unknown endpoint type {unknown.group(1)} in {description!r}"
        return f"bad endpoint {description!r}: {e}"
    except TypeError as e:  # an option the endpoint type does not have
        option = str(e).rpartition("argument ")[2] or str(e)
        return f"bad endpoint {description!r}: unknown option {option}"
    except (OSError, ImportError) as e:
        return f"bad endpoint {description!r}: {e}"
    port = getattr(endpoint, "_port", None)
    if isinstance(port, int) and not 0 <= port <= 65535:
        return f"bad endpoint {description!r}: port {port} out of range 0-65535"
    return None


def _check_endpoints(path: Path, name: str, cls: type, section: Any) -> None:
    for f in dataclasses.fields(cls):
        if not f.metadata.get("endpoints"):
            continue
        for description in getattr(section, f.name):
            problem = check_endpoint(description)
            if problem is not None:
                raise ConfigError(path, f"{name}.{f.name}", problem)


def _build_section(
    path: Path, name: str, cls: type, values: dict[str, Any], base: Path, data_dir: Path | None
) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(path, f"{name}.{key}", "unknown key")
        if not _check_type(value, hints[key]):
            raise ConfigError(path, f"{name}.{key}", f"expected {_type_name(hints[key])}")
        if isinstance(value, int) and hints[key] in (float, float | None):
            value = float(value)
        kwargs[key] = value
    # Resolve paths (explicit or default) and endpoints.
    for fname, f in fields.items():
        value = kwargs.get(fname, _default(f))
        rel = f.metadata.get("relative_to")
        if rel and isinstance(value, str) and not os.path.isabs(value):
            if rel == "config":
                anchor = base
            else:  # [server] itself has data-relative keys: data_dir comes first
                anchor = data_dir if data_dir is not None else Path(kwargs["data_dir"])
            value = os.path.normpath(anchor / value)
        if f.metadata.get("endpoints") and data_dir is not None:
            value = [resolve_endpoint(e, data_dir) for e in value]
        kwargs[fname] = value
    return cls(**kwargs)


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    raise TypeError(f.name)


def parse_config(text: str, path: Path) -> Config:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(path, "(syntax)", str(e)) from e
    base = path.parent.resolve()
    for name, value in raw.items():
        if name not in SECTIONS:
            raise ConfigError(path, name, "unknown section")
        if not isinstance(value, dict):
            raise ConfigError(path, name, "expected a [section]")
    server = _build_section(path, "server", ServerSection, raw.get("server", {}), base, None)
    data_dir = Path(server.data_dir)
    sections: dict[str, Any] = {"server": server}
    for name, cls in SECTIONS.items():
        if name != "server":
            sections[name] = _build_section(path, name, cls, raw.get(name, {}), base, data_dir)
    for name, cls in SECTIONS.items():
        _check_endpoints(path, name, cls, sections[name])
    if server.user is not None:
        try:
            pwd.getpwnam(server.user)
        except KeyError:
            raise ConfigError(path, "server.user", f"no such user {server.user!r}") from None
    config = Config(path=path.resolve(), explicit=raw, **sections)
    try:
        parse_location(config.mail.location)
    except LocationError as e:
        raise ConfigError(path, "mail.location", str(e)) from None
    return config


def load_config(path: str | os.PathLike[str]) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(p, "(file)", e.strerror or str(e)) from e
    return parse_config(text, p)


def default_config_path() -> Path:
    """``$MAA_CONFIG``, else ``conf/maa.toml`` of the source tree, else ``/etc/maa/maa.toml``."""
    env = os.environ.get("MAA_CONFIG")
    if env:
        return Path(env)
    tree = Path(__file__).resolve().parent.parent / "conf" / DEFAULT_CONFIG_NAME
    if tree.exists():
        return tree
    return Path("/etc/maa") / DEFAULT_CONFIG_NAME


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(type(value))


def dump_config(config: Config, only_explicit: bool = False) -> str:
    """The effective settings as TOML; with ``only_explicit``, only what the file set to
    something other than the default (``doveconf -n``, ``postconf -n``)."""
    lines: list[str] = []
    for name in SECTIONS:
        section = getattr(config, name)
        items: list[tuple[str, Any]] = []
        for f in dataclasses.fields(section):
            if only_explicit:
                written = config.explicit.get(name, {})
                if f.name not in written or written[f.name] == _default(f):
                    continue
            value = getattr(section, f.name)
            if value is None:
                continue
            items.append((f.name, value))
        if not items:
            continue
        if lines:
            lines.append("")
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in items)
    return "\n".join(lines) + "\n"
