"""Front-matter dates read the way Hugo 0.111 reads them.

Hugo hands a date string to Go's ``cast`` (v1.5), which tries a fixed list of ``time.Parse``
layouts in order and ignores the value when none fits; Hugo then treats the key as unset. We
mirror that list, translated into regular expressions with Go's parsing rules, instead of
accepting "anything ``dateutil`` can guess", because a date Hugo ignores must be one we ignore
too, or the digest and the site would disagree about a post. Checked against ``hugo list all``:

- nothing around the value: ``" 2026-10-03 "`` is no date (Go does not trim);
- a space in a layout matches one or more spaces, month and weekday names ignore case, a
  weekday need not fit the date, and fractional seconds (``.5`` or ``,5``) may follow the
  seconds of any layout;
- hours may have one digit, months, days, minutes and seconds need two;
- ``T`` and ``Z`` are upper case; after a ``T`` the offset follows the seconds directly
  (``T10:00:00+02:00``, ``T10:00:00+0200``, ``T10:00:00Z``), while after a space it may also
  follow a space (``2026-10-03 10:00:00 +02:00``), and ``T10:00`` without seconds is no date;
- a zone *name* is only accepted where the layout has one (RFC 1123/822/850, Unix ``date``,
  Go's ``Time.String()``): ``2026-10-03 10:00:00 CEST`` is no date;
- a value without an offset, and one with only a zone name, is wall-clock time in the site's
  time zone (``cast`` drops the name; ``GMT+3`` moves the clock by 3 hours first, a Go quirk);
  a numeric offset is kept (``:year``/``:month`` in permalinks use it, so converting would move
  posts); ``Time.String()``'s ``+0200 UTC`` is UTC.

Go also reads a bare time (``3:04PM``, ``Jan _2 15:04:05``) as a date in year 0; Python has no
year 0, so such a value is reported as no date (Hugo would date the page before year 1).
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from enum import Enum

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_LONG_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")


class _Zone(Enum):
    """What ``cast`` does with a layout's zone (its ``timeFormatType``)."""

    NONE = "none"  # site time zone
    NAMED = "named"  # the name is checked, then dropped: site time zone
    NUMERIC = "numeric"  # the offset (or Z) is kept
    NUMERIC_AND_NAMED = "numeric and named"  # the offset is kept, unless the name is UTC
    TIME_ONLY = "time only"  # year 0: not representable


# cast v1.5's ``timeFormats``, in its order (the first layout that parses wins).
_LAYOUTS: tuple[tuple[str, _Zone], ...] = (
    ("2006-01-02T15:04:05Z07:00", _Zone.NUMERIC),  # RFC 3339
    ("2006-01-02T15:04:05", _Zone.NONE),
    ("Mon, 02 Jan 2006 15:04:05 -0700", _Zone.NUMERIC),  # RFC 1123Z
    ("Mon, 02 Jan 2006 15:04:05 MST", _Zone.NAMED),  # RFC 1123
    ("02 Jan 06 15:04 -0700", _Zone.NUMERIC),  # RFC 822Z
    ("02 Jan 06 15:04 MST", _Zone.NAMED),  # RFC 822
    ("Monday, 02-Jan-06 15:04:05 MST", _Zone.NAMED),  # RFC 850
    ("2006-01-02 15:04:05.999999999 -0700 MST", _Zone.NUMERIC_AND_NAMED),  # Time.String()
    ("2006-01-02T15:04:05-0700", _Zone.NUMERIC),
    ("2006-01-02 15:04:05Z0700", _Zone.NUMERIC),
    ("2006-01-02 15:04:05", _Zone.NONE),
    ("Mon Jan _2 15:04:05 2006", _Zone.NONE),  # ANSI C
    ("Mon Jan _2 15:04:05 MST 2006", _Zone.NAMED),  # Unix date
    ("Mon Jan 02 15:04:05 -0700 2006", _Zone.NUMERIC),  # Ruby
    ("2006-01-02 15:04:05Z07:00", _Zone.NUMERIC),
    ("2006-01-02", _Zone.NONE),
    ("02 Jan 2006", _Zone.NONE),
    ("2006-01-02 15:04:05 -07:00", _Zone.NUMERIC),
    ("2006-01-02 15:04:05 -0700", _Zone.NUMERIC),
    ("3:04PM", _Zone.TIME_ONLY),  # Kitchen
    ("Jan _2 15:04:05", _Zone.TIME_ONLY),  # Stamp (and its .000 variants: any fraction fits)
)

# Go's layout elements as regular expressions; '+' after a repeat is possessive, because Go
# takes the digits greedily and never gives one back.
_ELEMENTS = {
    "2006": r"(?P<year>\d{4})",
    "06": r"(?P<yy>\d{2})",
    "01": r"(?P<month>\d{2})",
    "Jan": r"(?P<mon>[A-Za-z]{3})",
    "02": r"(?P<day>\d{2})",
    "_2": r" ?(?P<day>\d{1,2}+)",
    "Monday": r"(?P<weekday>[A-Za-z]+)",
    "Mon": r"(?P<wd>[A-Za-z]{3})",
    "15": r"(?P<hour>\d{1,2}+)",
    "3": r"(?P<hour>\d{1,2}+)",
    "PM": r"(?:AM|PM)",
    "04": r"(?P<minute>\d{2})",
    "05": r"(?P<second>\d{2})",
    ".999999999": r"(?:[.,](?P<frac>\d+))?",
    "Z07:00": r"(?P<off>Z|[+-]\d{2}:\d{2})",
    "Z0700": r"(?P<off>Z|[+-]\d{4})",
    "-07:00": r"(?P<off>[+-]\d{2}:\d{2})",
    "-0700": r"(?P<off>[+-]\d{4})",
    "MST": r"(?P<zone>\S+)",  # checked by _zone_name_ok, as Go's parseTimeZone would
}
_CHUNK = re.compile("|".join(re.escape(k) for k in sorted(_ELEMENTS, key=len, reverse=True)))


def _layout_regex(layout: str) -> re.Pattern[str]:
    """A Go layout as a regex: elements as above, a space as one or more spaces."""
    out: list[str] = []
    pos = 0
    for found in _CHUNK.finditer(layout):
        out.extend(" +" if ch == " " else re.escape(ch) for ch in layout[pos : found.start()])
        out.append(_ELEMENTS[found.group()])
        if found.group() == "05" and not layout[found.end() :].startswith(".999999999"):
            out.append(_ELEMENTS[".999999999"])  # Go reads a fraction after any seconds
        pos = found.end()
    out.extend(" +" if ch == " " else re.escape(ch) for ch in layout[pos:])
    return re.compile("".join(out), re.ASCII)


_NAMED_GROUPS = ("mon", "wd", "weekday", "zone")


@functools.cache
def _compiled(index: int) -> tuple[re.Pattern[str], bool]:
    """Layout ``index``'s regex and whether it has names to check, compiled on first use: the
    usual forms never get here (:func:`_parse_common`), and a value the first layouts take
    does not pay for compiling the other twenty (10 ms, a thirtieth of ``digestmail posts``)."""
    regex = _layout_regex(_LAYOUTS[index][0])
    return regex, any(g in regex.groupindex for g in _NAMED_GROUPS)


class DateValueError(ValueError):
    """A front-matter value that Hugo would not take as a date (Hugo then treats it as unset)."""


def _signed_hours(text: str) -> int | None:
    """Go's parseSignedOffset: ``+3``, ``-11`` (hours up to 23), else ``None``."""
    if len(text) < 2 or text[0] not in "+-" or not text[1:].isdigit() or not text.isascii():
        return None
    hours = int(text[1:])
    return None if hours > 23 else (-hours if text[0] == "-" else hours)


def _zone_name_ok(name: str) -> bool:
    """Go's parseTimeZone, required to take the whole name."""
    if len(name) < 3:
        return False
    if name.startswith("UTC"):
        return name == "UTC"
    if name in ("ChST", "MeST", "WITA"):
        return True
    if name.startswith("GMT"):
        return name == "GMT" or _signed_hours(name[3:]) is not None
    if name[0] in "+-":
        return _signed_hours(name) is not None
    upper = len(name) - len(name.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    if upper != len(name):
        return False
    return upper == 3 or (upper in (4, 5) and name[-1] == "T")


@functools.lru_cache(maxsize=256)
def _offset(text: str) -> tzinfo:
    if text == "Z":
        return UTC
    digits = text[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return UTC if not delta else timezone(-delta if text[0] == "-" else delta)


def _name_index(names: tuple[str, ...], text: str | None) -> int | None:
    """Go's lookup: the index of the name, ignoring case; ``None`` when it is none of them."""
    lowered = (text or "").lower()
    return names.index(lowered) if lowered in names else None


def _names_ok(groups: dict[str, str | None]) -> bool:
    """Month and weekday names Go knows (a weekday is checked, never compared with the date)."""
    return all(
        groups.get(key) is None or _name_index(names, groups[key]) is not None
        for key, names in (("mon", _MONTHS), ("wd", _DAYS), ("weekday", _LONG_DAYS))
    ) and (groups.get("zone") is None or _zone_name_ok(groups["zone"] or ""))


def _year(groups: dict[str, str | None]) -> int:
    if groups.get("year") is not None:
        return int(groups["year"] or 0)
    yy = int(groups.get("yy") or 0)
    return yy + (1900 if yy >= 69 else 2000)  # Go's rule for two-digit years


def _build(groups: dict[str, str | None], zone: _Zone, site_tz: tzinfo) -> datetime:
    """The datetime a matched layout stands for; ValueError for an impossible calendar date."""
    month = groups.get("month")
    frac = groups.get("frac") or "0"
    naive = datetime(
        _year(groups),
        int(month) if month else (_name_index(_MONTHS, groups.get("mon")) or 0) + 1,
        int(groups.get("day") or 0),
        int(groups.get("hour") or 0),
        int(groups.get("minute") or 0),
        int(groups.get("second") or 0),
        int(frac[:6].ljust(6, "0")),
    )
    name, off = groups.get("zone"), groups.get("off")
    if zone is _Zone.NAMED:
        if name is not None and name.startswith("GMT") and len(name) > 3:
            naive += timedelta(hours=_signed_hours(name[3:]) or 0)  # Go's fake GMT+N zone
        return naive.replace(tzinfo=site_tz)
    if zone is _Zone.NUMERIC_AND_NAMED and name == "UTC":
        return naive.replace(tzinfo=UTC)
    return naive.replace(tzinfo=site_tz if off is None else _offset(off))


_COMMON = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:\d{2})?)?",
    re.ASCII,
)
"""The forms nearly every post uses; each is what the first layout to parse it gives (RFC 3339,
``2006-01-02T15:04:05``, ``2006-01-02``, with or without a fraction of a second: no earlier
layout fits them), read without the loop."""


def _parse_common(text: str, site_tz: tzinfo) -> datetime | None:
    found = _COMMON.fullmatch(text)
    if found is None:
        return None
    year, month, day, hour, minute, second, frac, off = found.groups()
    try:
        naive = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int(frac[:6].ljust(6, "0")) if frac else 0,
        )
        return naive.replace(tzinfo=site_tz if off is None else _offset(off))
    except ValueError:
        return None  # an impossible date or offset (+24:00): the loop words the error


def _parse(text: str, site_tz: tzinfo) -> datetime | str | None:
    """The first layout that parses, as ``cast`` tries them; else the calendar error, or None."""
    if (common := _parse_common(text, site_tz)) is not None:
        return common
    return _parse_layouts(text, site_tz)


def _parse_layouts(text: str, site_tz: tzinfo) -> datetime | str | None:
    calendar_error: str | None = None
    for index, (_, zone) in enumerate(_LAYOUTS):
        regex, named = _compiled(index)
        found = regex.fullmatch(text)
        if found is None:
            continue
        groups = found.groupdict()
        if named and not _names_ok(groups):
            continue
        if zone is _Zone.TIME_ONLY:
            return "a time without a date (Hugo puts it in year 0)"
        try:
            return _build(groups, zone, site_tz)
        except (ValueError, OverflowError) as exc:  # 2017-02-30: Go tries the next layout
            calendar_error = calendar_error or f"not a valid date: {exc}"
    return calendar_error


def parse_date_text(text: str, site_tz: tzinfo) -> datetime:
    """A date string as Hugo reads it; raises :class:`DateValueError` for one Hugo ignores."""
    result = _parse(text, site_tz)
    if isinstance(result, datetime):
        return result
    if result is None:
        hint = "use 2017-11-10 or 2017-11-10T09:00:00"
        if text.strip() != text and isinstance(_parse(text.strip(), site_tz), datetime):
            hint = "Hugo does not allow spaces around a date"
        result = f"not a date Hugo understands ({hint})"
    raise DateValueError(f"{text!r} is {result}")


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
