"""``--period`` values, period names, and stepping between periods, in the site's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from digestmail.errors import UsageError
from digestmail.models import Period
from digestmail.selection.periods import (
    parse_period,
    period_label,
    period_of,
    previous_period,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2017, 12, 1, 8, 0, tzinfo=BERLIN)


def parse(text: str, cadence: str = "month", now: datetime = NOW) -> Period:
    return parse_period(text, cadence=cadence, now=now, tz=BERLIN)


def test_month() -> None:
    period = parse("2017-11")
    assert period.key == "2017-11" and period.kind == "month"
    assert period.start == datetime(2017, 11, 1, tzinfo=BERLIN)
    assert period.end == datetime(2017, 12, 1, tzinfo=BERLIN)


def test_a_post_at_2330_local_on_the_last_day_is_in_the_month() -> None:
    period = parse("2017-11")
    late = datetime(2017, 11, 30, 23, 30, tzinfo=BERLIN)
    assert late in period
    # The same instant written in UTC (22:30Z) is in, and midnight local is already out.
    assert late.astimezone(UTC) in period
    assert datetime(2017, 12, 1, 0, 0, tzinfo=BERLIN) not in period
    assert datetime(2017, 11, 30, 23, 30, tzinfo=UTC) not in period  # 00:30 on Dec 1 in Berlin


def test_december_rolls_over_into_the_next_year() -> None:
    period = parse("2017-12")
    assert period.end == datetime(2018, 1, 1, tzinfo=BERLIN)
    assert parse("2018-01").start == period.end
    assert previous_period(parse("2018-01")).key == "2017-12"


def test_iso_week_including_year_edges() -> None:
    week = parse("2017-W45", cadence="week")
    assert week.kind == "week"
    assert week.start == datetime(2017, 11, 6, tzinfo=BERLIN)
    assert week.end == datetime(2017, 11, 13, tzinfo=BERLIN)
    # ISO week 1 of 2021 starts on Monday, 4 January; 2020 has a week 53.
    assert parse("2021-W01").start == datetime(2021, 1, 4, tzinfo=BERLIN)
    assert parse("2020-w53").key == "2020-W53"
    assert parse("2021-W01").start == parse("2020-W53").end
    assert previous_period(parse("2021-W01")).key == "2020-W53"


def test_inclusive_date_range_ends_at_the_following_midnight() -> None:
    period = parse("2017-11-01..2017-11-30")
    assert period.kind == "range"
    assert period.key == "2017-11-01..2017-11-30"
    assert period.end == datetime(2017, 12, 1, tzinfo=BERLIN)
    assert datetime(2017, 11, 30, 23, 59, tzinfo=BERLIN) in period
    one_day = parse("2017-11-05..2017-11-05")
    assert one_day.end == datetime(2017, 11, 6, tzinfo=BERLIN)
    assert previous_period(one_day).key == "2017-11-04..2017-11-04"


def test_daylight_saving_change_keeps_local_midnights() -> None:
    october = parse("2017-10")
    assert october.start.utcoffset() != october.end.utcoffset()
    assert october.end.hour == 0


@pytest.mark.parametrize(
    ("now", "cadence", "previous", "current"),
    [
        (datetime(2017, 12, 1, 8, tzinfo=BERLIN), "month", "2017-11", "2017-12"),
        (datetime(2018, 1, 15, tzinfo=BERLIN), "month", "2017-12", "2018-01"),
        # 23:30 UTC on 30 Nov is already 1 Dec in Berlin: November is complete.
        (datetime(2017, 11, 30, 23, 30, tzinfo=UTC), "month", "2017-11", "2017-12"),
        (datetime(2017, 11, 8, 12, tzinfo=BERLIN), "week", "2017-W44", "2017-W45"),
        (datetime(2021, 1, 6, tzinfo=BERLIN), "week", "2020-W53", "2021-W01"),
    ],
)
def test_previous_and_current_follow_the_cadence_in_the_site_zone(
    now: datetime, cadence: str, previous: str, current: str
) -> None:
    assert parse("previous", cadence, now).key == previous
    assert parse("current", cadence, now).key == current
    assert parse(" Previous ", cadence, now).key == previous


def test_period_of_a_naive_moment_is_read_in_the_site_zone() -> None:
    assert period_of(datetime(2017, 11, 30, 23, 30), cadence="month", tz=BERLIN).key == "2017-11"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2017-13", "no month 13"),
        ("2017-00", "no month 0"),
        ("2017-W54", "no ISO week 54"),
        ("2019-W53", "no ISO week 53"),
        ("2017-11-30..2017-11-01", "ends before it starts"),
        ("2017-02-30..2017-03-01", "day is out of range"),
        ("last month", "not a period"),
        ("", "not a period"),
    ],
)
def test_bad_values_are_usage_errors_listing_the_forms(text: str, words: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    message = str(caught.value)
    assert words in message
    assert "2017-W45" in message and "previous" in message
    assert caught.value.exit_code == 2


def test_unknown_cadence_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="cadence"):
        parse("previous", cadence="daily")


@pytest.mark.parametrize(
    ("text", "language", "label"),
    [
        ("2017-11", "de", "November 2017"),
        ("2017-03", "de", "März 2017"),
        ("2017-03", "en", "March 2017"),
        ("2017-W45", "de", "KW 45/2017"),
        ("2017-W45", "en", "Week 45, 2017"),
        ("2017-11-01..2017-11-30", "de", "1.–30. Nov. 2017"),
        ("2017-11-28..2017-12-03", "de", "28. Nov.\u2009–\u20093. Dez. 2017"),  # thin spaces
        ("2017-11-05..2017-11-05", "de", "05.11.2017"),
        ("2017-11", "de-DE", "November 2017"),
    ],
)
def test_period_label(text: str, language: str, label: str) -> None:
    assert period_label(parse(text), language) == label


@pytest.mark.parametrize("text", ["0000-01", "9999-12", "9999-W52"])
def test_years_beyond_the_calendar_are_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="outside the years"):
        parse_period(text, cadence="month", now=datetime(2017, 12, 5, tzinfo=BERLIN), tz=BERLIN)
