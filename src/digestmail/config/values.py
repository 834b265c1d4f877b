"""Conversions of single config values that a type alone cannot check.

Each takes the value as TOML gave it (already of the right TOML type) and returns what the
dataclass holds, or raises :class:`~.schema.Invalid` with words an editor can act on; the schema
adds the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digestmail.config.schema import Invalid


def base_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise Invalid(f"must be an absolute http(s) URL, not {value!r}")
    return value if value.endswith("/") else value + "/"


def time_zone(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(
            f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)"
        ) from None


def language(value: str) -> str:
    """A language babel knows, as a BCP 47 tag (``de``, ``de-AT``) for the HTML ``lang``."""
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
