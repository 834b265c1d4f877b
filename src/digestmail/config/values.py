"""Conversions of single config values that a type alone cannot check.

Each takes the value as TOML gave it (already of the right TOML type) and returns what the
dataclass holds, or raises :class:`~.schema.Invalid` with words an editor can act on; the schema
adds the file and the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digestmail.config.schema import Invalid


def base_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise Invalid(f"must be an absolute http(s) URL, not {value!r}")
    return value if value.endswith("/") else value + "/"


def web_base_url(value: str) -> str:
    """serve's public URL: like ``site.base_url``, and without query or fragment, because
    ``unsubscribe?list=..`` and ``confirm?token=..`` are appended to it."""
    url = base_url(value)
    if "?" in url or "#" in url:
        raise Invalid(f"must not have a query or fragment, not {value!r}")
    return url


def bounce_address(value: str) -> str:
    """A bare ASCII address without ``+`` before the ``@``: digestmail adds ``+<token>`` itself."""
    value = value.strip()
    if not value:
        return ""
    local, at, domain = value.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain
        or not value.isascii()
        or any(c in value for c in ' <>"\t\r\n,;')
    ):
        raise Invalid(f"must be a bare address such as bounces@example.org, not {value!r}")
    if "+" in local:
        raise Invalid(f"must not contain '+' before the @ (digestmail adds +<token>): {value!r}")
    return value.lower()


def test_addresses(value: tuple[str, ...]) -> tuple[str, ...]:
    """``preview.test_addresses``: bare addresses, kept in lower case for comparing."""
    out: list[str] = []
    for item in value:
        item = item.strip()
        local, at, domain = item.rpartition("@")
        if not at or not local or "." not in domain or any(c in item for c in ' <>"\t\r\n,;'):
            raise Invalid(f"must be bare addresses such as redaktion@example.org, not {item!r}")
        out.append(item.lower())
    return tuple(out)


def relay_name(value: str) -> str:
    """A relay's name as ``status`` shows it: one printable line, short enough for a column."""
    name = value.strip()
    if not name.isprintable() or len(name) > 64:
        raise Invalid(f"must be one printable line of at most 64 characters, not {value!r}")
    return name


def listen(value: str) -> str:
    """``host:port`` (``[::1]:8025`` for IPv6); the port 1 to 65535."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise Invalid(f"must be host:port such as 127.0.0.1:8025, not {value!r}")
    return value.strip()


def networks(value: tuple[str, ...]) -> tuple[str, ...]:
    """IP addresses or networks (``10.0.0.0/8``), normalised so matching is exact."""
    import ipaddress

    out: list[str] = []
    for item in value:
        try:
            out.append(str(ipaddress.ip_network(item.strip(), strict=False)))
        except ValueError:
            raise Invalid(f"not an IP address or network: {item!r}") from None
    return tuple(out)


def time_zone(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(
            f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)"
        ) from None


_PLAIN_LANGUAGE = re.compile(r"[a-z]{2,3}(?:[-_][A-Z]{2})?")


def _babel_has(identifier: str) -> bool:
    """Whether babel ships data for ``identifier`` (``de_AT``), asked without importing babel.

    That is the test :meth:`babel.Locale.parse` makes for a tag already in its own case
    (``localedata.exists``), and importing babel for it cost every command a few per cent of
    ``digestmail posts``, which never formats a date. Unsure (babel not found as a folder):
    False, and babel itself decides.
    """
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("babel")
    folders = spec.submodule_search_locations if spec is not None else None
    if not folders:
        return False
    return (Path(folders[0]) / "locale-data" / f"{identifier}.dat").is_file()


def language(value: str) -> str:
    """A language babel knows, as a BCP 47 tag (``de``, ``de-AT``) for the HTML ``lang``."""
    tag = value.strip()
    if _PLAIN_LANGUAGE.fullmatch(tag) and _babel_has(tag.replace("-", "_")):
        return tag.replace("_", "-")
    from babel import Locale, UnknownLocaleError

    try:
        locale = Locale.parse(value.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise Invalid(f"unknown language {value!r} (use a code such as de, en or de-AT)") from None
    return str(locale).replace("_", "-")


def permalinks(value: Mapping[str, Any]) -> dict[str, str]:
    for section, pattern in value.items():
        if not isinstance(pattern, str):
            raise Invalid("permalink pattern must be a string", subkey=section)
    return dict(value)


def categories(value: tuple[str, ...]) -> tuple[str, ...]:
    found = tuple(c.strip() for c in value if c.strip())
    if not found:
        raise Invalid("needs at least one category")
    return found


def schedule(value: str) -> str:
    """Five cron fields (or ``@daily``...); croniter alone would also take six or seven."""
    from croniter import croniter  # only here: most commands never need it at start-up

    text = value.strip()
    five_fields = text.startswith("@") or len(text.split()) == 5
    if not five_fields or not croniter.is_valid(text):
        raise Invalid(
            f"not a valid cron expression: {value!r} (five fields: minute hour "
            "day-of-month month day-of-week)"
        )
    return text
