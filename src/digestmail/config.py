"""Load ``config/digestmail.toml`` into typed, frozen settings.

Every value is checked against a declared schema (type, default, allowed values) so that a typo
in a key or a wrong type is reported once, with the file and the dotted key, before any work
starts; nothing downstream ever sees an untyped dict.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digestmail.errors import ConfigError

CONFIG_ENV = "DIGESTMAIL_CONFIG"
DEFAULT_CONFIG = Path("config/digestmail.toml")

SECURITY_MODES = ("tls", "starttls", "none")
TRANSPORT_KINDS = ("maildir", "smtp")
CADENCES = ("month", "week")
DEFAULT_SCHEDULES = {"month": "0 8 1 * *", "week": "0 8 * * 1"}
"""Without a ``schedule``, a list is sent at 08:00 after its period: on the 1st or on Monday."""


@dataclass(frozen=True, slots=True)
class SiteConfig:
    title: str
    base_url: str
    """Always ends with a slash, so relative URLs join predictably."""
    language: str
    timezone: ZoneInfo
    content_dir: Path
    permalinks: Mapping[str, str]
    archive_dir: Path
    archive_url: str
    """Base URL where the archive is published; empty when there is no web version."""


@dataclass(frozen=True, slots=True)
class StateConfig:
    path: Path


@dataclass(frozen=True, slots=True)
class TransportConfig:
    kind: str
    maildir: Path


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password_env: str = "DIGESTMAIL_SMTP_PASSWORD"
    connections: int = 8
    rate_per_second: float = 0.0
    timeout: float = 30.0
    max_attempts: int = 5
    retry_max_delay: float = 30.0
    give_up_after_days: float = 5.0
    """A temporary failure older than this is recorded as permanent, so the issue can finish."""
    verify_tls: bool = True
    ca_file: Path | None = None
    """Extra CA bundle to trust (a private relay's certificate); the system store otherwise."""

    def password(self) -> str:
        """Read the password at the moment of use: secrets live only in the environment."""
        return os.environ.get(self.password_env, "") if self.password_env else ""


@dataclass(frozen=True, slots=True)
class ListConfig:
    key: str
    name: str
    from_addr: str
    subscribers: Path
    categories: tuple[str, ...]
    cadence: str = "month"
    schedule: str = "0 8 1 * *"
    subject: str = "{{ list.name }} – {{ issue.period_label }}"
    template: str = "digest"
    unsubscribe_mailto: str = ""
    unsubscribe_url: str = ""
    catch_up: int = 1
    """How many periods back ``run-due`` still sends an unsent issue without ``--include-old``."""
    reply_to: str = ""


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    project_dir: Path
    site: SiteConfig
    state: StateConfig
    transport: TransportConfig
    smtp: SmtpConfig
    lists: Mapping[str, ListConfig] = field(default_factory=dict)

    def get_list(self, key: str) -> ListConfig:
        try:
            return self.lists[key]
        except KeyError:
            known = ", ".join(sorted(self.lists)) or "none"
            raise ConfigError(
                f"no list {key!r} (lists: {known})", path=self.path, key=f"lists.{key}"
            ) from None


def find_config(explicit: str | Path | None) -> Path:
    """``--config``, then ``$DIGESTMAIL_CONFIG``, then ``./config/digestmail.toml``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    return DEFAULT_CONFIG


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate the config; every problem is a :class:`ConfigError` naming file and key."""
    cfg_path = find_config(path).resolve()
    try:
        raw = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            "config file not found (use --config or $DIGESTMAIL_CONFIG)", path=cfg_path
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=cfg_path) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8: {exc}", path=cfg_path) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the config: {exc.strerror or exc}", path=cfg_path) from exc
    return parse_config(raw, path=cfg_path)


def _project_dir(cfg_path: Path) -> Path:
    """Paths are relative to the project: the parent of ``config/``, else the config's folder."""
    parent = cfg_path.parent
    return parent.parent if parent.name == "config" else parent


# --- the schema ------------------------------------------------------------------------------

_Checker = Callable[[Any], bool]

_STR: tuple[str, _Checker] = ("a string", lambda v: isinstance(v, str))
_INT: tuple[str, _Checker] = (
    "an integer",
    lambda v: isinstance(v, int) and not isinstance(v, bool),
)
_NUM: tuple[str, _Checker] = (
    "a number",
    lambda v: isinstance(v, int | float) and not isinstance(v, bool),
)
_BOOL: tuple[str, _Checker] = ("true or false", lambda v: isinstance(v, bool))
_STRLIST: tuple[str, _Checker] = (
    "a list of strings",
    lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
)
_TABLE: tuple[str, _Checker] = ("a table", lambda v: isinstance(v, dict))

_REQUIRED = object()

_SITE: dict[str, tuple[tuple[str, _Checker], object]] = {
    "title": (_STR, _REQUIRED),
    "base_url": (_STR, _REQUIRED),
    "language": (_STR, "en"),
    "timezone": (_STR, "UTC"),
    "content_dir": (_STR, "content"),
    "permalinks": (_TABLE, {}),
    "archive_dir": (_STR, "archive"),
    "archive_url": (_STR, ""),
}
_STATE: dict[str, tuple[tuple[str, _Checker], object]] = {
    "path": (_STR, "state/digestmail.sqlite"),
}
_TRANSPORT: dict[str, tuple[tuple[str, _Checker], object]] = {
    "kind": (_STR, "maildir"),
    "maildir": (_STR, "outbox"),
}
_SMTP: dict[str, tuple[tuple[str, _Checker], object]] = {
    "host": (_STR, "localhost"),
    "port": (_INT, 587),
    "security": (_STR, "starttls"),
    "username": (_STR, ""),
    "password_env": (_STR, "DIGESTMAIL_SMTP_PASSWORD"),
    "connections": (_INT, 8),
    "rate_per_second": (_NUM, 0),
    "timeout": (_NUM, 30),
    "max_attempts": (_INT, 5),
    "retry_max_delay": (_NUM, 30),
    "give_up_after_days": (_NUM, 5),
    "verify_tls": (_BOOL, True),
    "ca_file": (_STR, ""),
}
_LIST: dict[str, tuple[tuple[str, _Checker], object]] = {
    "name": (_STR, ""),
    "from": (_STR, _REQUIRED),
    "subscribers": (_STR, _REQUIRED),
    "categories": (_STRLIST, _REQUIRED),
    "cadence": (_STR, "month"),
    "schedule": (_STR, "0 8 1 * *"),
    "subject": (_STR, "{{ list.name }} – {{ issue.period_label }}"),
    "template": (_STR, "digest"),
    "unsubscribe_mailto": (_STR, ""),
    "unsubscribe_url": (_STR, ""),
    "catch_up": (_INT, 1),
    "reply_to": (_STR, ""),
}
_TOP = {"site", "state", "transport", "smtp", "lists"}


def _section(
    raw: Mapping[str, Any],
    schema: Mapping[str, tuple[tuple[str, _Checker], object]],
    *,
    prefix: str,
    path: Path,
) -> dict[str, Any]:
    """Check one table against its schema and fill in defaults."""
    for key in raw:
        if key not in schema:
            allowed = ", ".join(sorted(schema))
            raise ConfigError(
                f"unknown key (allowed here: {allowed})", path=path, key=f"{prefix}.{key}"
            )
    out: dict[str, Any] = {}
    for key, ((kind, check), default) in schema.items():
        if key in raw:
            value = raw[key]
            if not check(value):
                raise ConfigError(
                    f"must be {kind}, not {type(value).__name__} {value!r}",
                    path=path,
                    key=f"{prefix}.{key}",
                )
            out[key] = value
        elif default is _REQUIRED:
            raise ConfigError("missing required key", path=path, key=f"{prefix}.{key}")
        else:
            out[key] = default
    return out


def _table(raw: Mapping[str, Any], key: str, path: Path) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"must be a table, not {type(value).__name__}", path=path, key=key)
    return value


def _one_of(value: str, allowed: tuple[str, ...], key: str, path: Path) -> str:
    if value not in allowed:
        raise ConfigError(f"{value!r} is not one of: {', '.join(allowed)}", path=path, key=key)
    return value


def _language(value: str, path: Path) -> str:
    """A language babel knows, as a BCP 47 tag (``de``, ``de-AT``) for the HTML ``lang``."""
    from babel import Locale, UnknownLocaleError

    try:
        locale = Locale.parse(value.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise ConfigError(
            f"unknown language {value!r} (use a code such as de, en or de-AT)",
            path=path,
            key="site.language",
        ) from None
    return str(locale).replace("_", "-")


def parse_config(raw: Mapping[str, Any], *, path: Path) -> Config:
    """Validate an already-parsed TOML document (separate from I/O so tests can feed dicts)."""
    for key in raw:
        if key not in _TOP:
            raise ConfigError(
                f"unknown section (allowed: {', '.join(sorted(_TOP))})", path=path, key=key
            )
    project = _project_dir(path)

    site = _section(_table(raw, "site", path), _SITE, prefix="site", path=path)
    if "site" not in raw:
        raise ConfigError("missing required section", path=path, key="site")
    try:
        tz = ZoneInfo(site["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {site['timezone']!r} (use an IANA name such as Europe/Berlin)",
            path=path,
            key="site.timezone",
        ) from None
    base_url: str = site["base_url"]
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"must be an absolute http(s) URL, not {base_url!r}", path=path, key="site.base_url"
        )
    permalinks = site["permalinks"]
    for section_name, pattern in permalinks.items():
        if not isinstance(pattern, str):
            raise ConfigError(
                "permalink pattern must be a string",
                path=path,
                key=f"site.permalinks.{section_name}",
            )
    language = _language(site["language"], path)
    site_cfg = SiteConfig(
        title=site["title"],
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        language=language,
        timezone=tz,
        content_dir=project / site["content_dir"],
        permalinks=dict(permalinks),
        archive_dir=project / site["archive_dir"],
        archive_url=site["archive_url"],
    )

    state = _section(_table(raw, "state", path), _STATE, prefix="state", path=path)
    transport = _section(_table(raw, "transport", path), _TRANSPORT, prefix="transport", path=path)
    _one_of(transport["kind"], TRANSPORT_KINDS, "transport.kind", path)
    smtp = _section(_table(raw, "smtp", path), _SMTP, prefix="smtp", path=path)
    _one_of(smtp["security"], SECURITY_MODES, "smtp.security", path)
    for key in ("connections", "max_attempts", "port"):
        if smtp[key] < 1:
            raise ConfigError("must be at least 1", path=path, key=f"smtp.{key}")
    for key in ("rate_per_second", "timeout", "retry_max_delay"):
        if not math.isfinite(smtp[key]) or smtp[key] < 0:
            raise ConfigError("must be a number, not negative", path=path, key=f"smtp.{key}")
    if not 0 < smtp["give_up_after_days"] <= 36500:  # also refuses nan and inf
        raise ConfigError(
            "must be more than 0 and at most 36500 (100 years)",
            path=path,
            key="smtp.give_up_after_days",
        )

    lists: dict[str, ListConfig] = {}
    for name, table in _table(raw, "lists", path).items():
        prefix = f"lists.{name}"
        if not isinstance(table, dict):
            raise ConfigError("must be a table", path=path, key=prefix)
        item = _section(table, _LIST, prefix=prefix, path=path)
        _one_of(item["cadence"], CADENCES, f"{prefix}.cadence", path)
        from croniter import croniter  # only here: most commands never need it at start-up

        if "schedule" not in table:
            item["schedule"] = DEFAULT_SCHEDULES[item["cadence"]]
        schedule = item["schedule"].strip()
        five_fields = schedule.startswith("@") or len(schedule.split()) == 5
        if not five_fields or not croniter.is_valid(schedule):
            raise ConfigError(
                f"not a valid cron expression: {item['schedule']!r} (five fields: minute hour "
                "day-of-month month day-of-week)",
                path=path,
                key=f"{prefix}.schedule",
            )
        categories = tuple(c.strip() for c in item["categories"] if c.strip())
        if not categories:
            raise ConfigError("needs at least one category", path=path, key=f"{prefix}.categories")
        if item["catch_up"] < 1:
            raise ConfigError(
                "must be at least 1 (the most recent due period)",
                path=path,
                key=f"{prefix}.catch_up",
            )
        lists[name] = ListConfig(
            key=name,
            name=item["name"] or name,
            from_addr=item["from"],
            subscribers=project / item["subscribers"],
            categories=categories,
            cadence=item["cadence"],
            schedule=schedule,
            subject=item["subject"],
            template=item["template"],
            unsubscribe_mailto=item["unsubscribe_mailto"],
            unsubscribe_url=item["unsubscribe_url"],
            catch_up=item["catch_up"],
            reply_to=item["reply_to"],
        )

    return Config(
        path=path,
        project_dir=project,
        site=site_cfg,
        state=StateConfig(path=project / state["path"]),
        transport=TransportConfig(kind=transport["kind"], maildir=project / transport["maildir"]),
        smtp=SmtpConfig(
            host=smtp["host"],
            port=smtp["port"],
            security=smtp["security"],
            username=smtp["username"],
            password_env=smtp["password_env"],
            connections=smtp["connections"],
            rate_per_second=float(smtp["rate_per_second"]),
            timeout=float(smtp["timeout"]),
            max_attempts=smtp["max_attempts"],
            retry_max_delay=float(smtp["retry_max_delay"]),
            give_up_after_days=float(smtp["give_up_after_days"]),
            verify_tls=smtp["verify_tls"],
            ca_file=(project / smtp["ca_file"]) if smtp["ca_file"] else None,
        ),
        lists=lists,
    )
