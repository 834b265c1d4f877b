"""Front-matter dates read the way Hugo 0.111 reads them.

Hugo accepts a fixed list of layouts (Go's ``cast`` list) and silently ignores anything else;
a value without an offset is in the site's time zone, a value with one keeps its own offset
(``:year``/``:month`` in permalinks use that offset, so converting would move posts). We mirror
that list instead of accepting "anything ``dateutil`` can guess", because a date Hugo ignores
must be one we ignore too, or the digest and the site would disagree about a post.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

# ISO-like layouts: RFC 3339, ``2006-01-02T15:04:05``, ``2006-01-02 15:04:05``, the same with
# ``-0700`` / ``-07:00`` / `` -0700`` offsets, fractional seconds (Go accepts them after the
# seconds of any layout) and a bare ``2006-01-02``. ``T09:00`` without seconds is not in
# Hugo's list and is rejected, as Hugo does.
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:(?:T| )(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?"
    r"(?: ?(Z|[+-]\d{2}:?\d{2}))?"
    r"(?: [A-Z]{2,5})?)?"
)
# ``02 Jan 2006`` and the RFC 1123/822 family Go's ``cast`` also knows.
_DMY = re.compile(r"(\d{2}) ([A-Z][a-z]{2}) (\d{4})")
_RFC1123 = re.compile(
    r"(?:[A-Z][a-z]{2}, )?(\d{1,2}) ([A-Z][a-z]{2}) (\d{2}|\d{4}) "
    r"(\d{2}):(\d{2})(?::(\d{2}))? ?([+-]\d{4}|UTC|GMT|Z)?"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}


class DateValueError(ValueError):
    """A front-matter value that Hugo would not take as a date (Hugo then treats it as unset)."""


def _offset(text: str | None, site_tz: tzinfo) -> tzinfo:
    if text is None:
        return site_tz
    if text in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))
    return UTC if not delta else timezone(sign * delta)


def _localise(naive: datetime, tz: tzinfo) -> datetime:
    return naive.replace(tzinfo=tz)


def parse_date_text(text: str, site_tz: tzinfo) -> datetime:
    """A date string as Hugo reads it; raises :class:`DateValueError` for one Hugo ignores."""
    value = text.strip()
    match = _ISO.fullmatch(value)
    try:
        if match:
            year, month, day, hour, minute, second, frac, off = match.groups()
            micro = int((frac or "0")[:6].ljust(6, "0"))
            naive = datetime(
                int(year),
                int(month),
                int(day),
                int(hour or 0),
                int(minute or 0),
                int(second or 0),
                micro,
            )
            return _localise(naive, _offset(off, site_tz))
        match = _DMY.fullmatch(value)
        if match and match.group(2) in _MONTHS:
            naive = datetime(int(match.group(3)), _MONTHS[match.group(2)], int(match.group(1)))
            return _localise(naive, site_tz)
        match = _RFC1123.fullmatch(value)
        if match and match.group(2) in _MONTHS:
            day_s, mon, year_s, hour_s, min_s, sec_s, off = match.groups()
            year_i = int(year_s) + (2000 if len(year_s) == 2 else 0)
            naive = datetime(
                year_i, _MONTHS[mon], int(day_s), int(hour_s), int(min_s), int(sec_s or 0)
            )
            return _localise(naive, _offset(off, site_tz))
    except ValueError as exc:  # 2017-02-30 and the like: the layout matched, the calendar not
        raise DateValueError(f"{text!r} is not a valid date: {exc}") from None
    raise DateValueError(
        f"{text!r} is not a date Hugo understands (use 2017-11-10 or 2017-11-10T09:00:00)"
    )


def to_datetime(value: object, site_tz: tzinfo) -> datetime:
    """Any front-matter date value (string, TOML/YAML date or datetime, Unix seconds)."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=site_tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=site_tz)
    if isinstance(value, str):
        return parse_date_text(value, site_tz)
    if isinstance(value, int) and not isinstance(value, bool):
        # Go's cast reads a number as Unix seconds; Hugo shows it in UTC.
        return datetime.fromtimestamp(value, tz=UTC)
    raise DateValueError(f"{value!r} is not a date")
