"""The span of time an issue covers: parsing ``--period``, naming it, stepping to the next one.

Periods are half-open ``[start, end)`` in the site's time zone, so "November" ends at midnight
local time and a post at 23:30 on the 30th is in, whatever the server's clock zone is. Ranges
are written inclusively by people (``2017-11-01..2017-11-30``) and stored exclusively.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

from digestmail.errors import UsageError
from digestmail.models import Period

CADENCES = ("month", "week")
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_WEEK = re.compile(r"(\d{4})-[Ww](\d{1,2})")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})")
_FORMS = "2017-11, 2017-W45, 2017-11-01..2017-11-30, previous or current"

_WEEK_LABELS = {"de": "KW {week}/{year}", "en": "Week {week}, {year}"}


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


def month_period(year: int, month: int, tz: tzinfo) -> Period:
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return Period(
        f"{year:04d}-{month:02d}", "month", _midnight(first, tz), _midnight(following, tz)
    )


def week_period(year: int, week: int, tz: tzinfo) -> Period:
    monday = date.fromisocalendar(year, week, 1)
    return Period(
        f"{year:04d}-W{week:02d}",
        "week",
        _midnight(monday, tz),
        _midnight(monday + timedelta(days=7), tz),
    )


def range_period(first: date, last: date, tz: tzinfo) -> Period:
    """Dates inclusive of ``last``: the period ends at the midnight after it."""
    return Period(
        f"{first.isoformat()}..{last.isoformat()}",
        "range",
        _midnight(first, tz),
        _midnight(last + timedelta(days=1), tz),
    )


def _local(moment: datetime, tz: tzinfo) -> datetime:
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)


def _check_cadence(cadence: str) -> None:
    if cadence not in CADENCES:
        raise UsageError(f"unknown cadence {cadence!r} (use {' or '.join(CADENCES)})")


def period_of(moment: datetime, *, cadence: str, tz: tzinfo) -> Period:
    """The month or ISO week (in the site's zone) that contains ``moment``."""
    _check_cadence(cadence)
    local = _local(moment, tz)
    if cadence == "month":
        return month_period(local.year, local.month, tz)
    year, week, _ = local.isocalendar()
    return week_period(year, week, tz)


def _start_day(period: Period) -> date:
    return period.start.date()


def previous_period(period: Period) -> Period:
    """The period right before: previous month, previous ISO week, or an equal range before."""
    tz = period.start.tzinfo
    assert tz is not None
    if period.kind == "month":
        day = _start_day(period)
        year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
        return month_period(year, month, tz)
    if period.kind == "week":
        year, week, _ = (_start_day(period) - timedelta(days=7)).isocalendar()
        return week_period(year, week, tz)
    first, end = _start_day(period), period.end.date()
    return range_period(first - (end - first), first - timedelta(days=1), tz)


def _bad(text: str, why: str) -> UsageError:
    return UsageError(f"--period {text!r}: {why} (use {_FORMS})")


def parse_period(text: str, *, cadence: str, now: datetime, tz: tzinfo) -> Period:
    """Read a ``--period`` value; ``previous`` and ``current`` follow the list's cadence.

    ``previous`` is the last *complete* period before ``now``; ``current`` the one containing
    ``now``. Raises :class:`UsageError` with the accepted forms for anything else, including
    years the calendar arithmetic cannot reach (0, 9999).
    """
    _check_cadence(cadence)
    try:
        return _parse_period(text, cadence=cadence, now=now, tz=tz)
    except (ValueError, OverflowError):
        raise _bad(text, "outside the years digestmail can work with") from None


def _parse_period(text: str, *, cadence: str, now: datetime, tz: tzinfo) -> Period:
    value = text.strip()
    word = value.lower()
    if word == "current":
        return period_of(now, cadence=cadence, tz=tz)
    if word == "previous":
        return previous_period(period_of(now, cadence=cadence, tz=tz))
    if found := _MONTH.fullmatch(value):
        year, month = int(found.group(1)), int(found.group(2))
        if not 1 <= month <= 12:
            raise _bad(text, f"there is no month {month}")
        return month_period(year, month, tz)
    if found := _WEEK.fullmatch(value):
        year, week = int(found.group(1)), int(found.group(2))
        try:
            return week_period(year, week, tz)
        except ValueError:
            raise _bad(text, f"{year} has no ISO week {week}") from None
    if found := _RANGE.fullmatch(value):
        try:
            first = date.fromisoformat(found.group(1))
            last = date.fromisoformat(found.group(2))
        except ValueError as exc:
            raise _bad(text, str(exc)) from None
        if last < first:
            raise _bad(text, "the range ends before it starts")
        return range_period(first, last, tz)
    raise _bad(text, "not a period")


def period_label(period: Period, language: str) -> str:
    """A reader's name for the period in ``language``: "November 2017", "KW 45/2017", ...

    Babel is imported here, not with the module: listing posts needs periods, not their names.
    """
    from babel.dates import format_date, format_interval

    first = period.start.date()
    language = language.replace("-", "_")
    if period.kind == "month":
        return format_date(first, "LLLL yyyy", locale=language)
    if period.kind == "week":
        year, week, _ = first.isocalendar()
        pattern = _WEEK_LABELS.get(language.split("_")[0], "{year}-W{week:02d}")
        return pattern.format(week=week, year=year)
    last = period.end.date() - timedelta(days=1)
    if first == last:
        return format_date(first, "medium", locale=language)
    return format_interval(first, last, "yMMMd", locale=language)
