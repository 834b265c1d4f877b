"""The fast path for the common date forms must give exactly what Hugo's layout list gives."""

from __future__ import annotations

import itertools
from zoneinfo import ZoneInfo

import pytest

from digestmail.content import dates

BERLIN = ZoneInfo("Europe/Berlin")

DAYS = ["2026-10-03", "2024-02-29", "2023-02-29", "2026-13-01", "2026-00-10", "0001-01-01"]
TIMES = ["", "T10:00:00", "T00:00:00", "T23:59:59", "T24:00:00", "T10:60:00", "T9:00:00"]
TIMES += ["T10:00:00.5", "T10:00:00,25", "T10:00:00.1234567891", "T10:00:00.", "T10:00.5"]
ZONES = ["", "Z", "+02:00", "-05:30", "+00:00", "+0200", " +02:00", "z", "+14:00"]
ZONES += ["+24:00", "-24:00", "+23:60", "+99:99"]  # Go takes them; Python has no such offset


def test_the_fast_path_agrees_with_the_layout_list_wherever_it_answers() -> None:
    answered = 0
    for day, time, zone in itertools.product(DAYS, TIMES, ZONES):
        text = day + time + zone
        fast = dates._parse_common(text, BERLIN)
        slow = dates._parse_layouts(text, BERLIN)
        if fast is not None:
            answered += 1
            assert fast == slow and fast.utcoffset() == slow.utcoffset(), text
        assert dates._parse(text, BERLIN) == slow, text
    assert answered > 40, "the fast path covers the usual forms"
    fraction = dates._parse_common("2019-04-09T08:00:00.123Z", BERLIN)
    assert fraction is not None and fraction.microsecond == 123000, "and fractions of a second"


def test_an_offset_python_cannot_hold_is_no_date_not_a_crash() -> None:
    with pytest.raises(dates.DateValueError, match="not a valid date"):
        dates.parse_date_text("2026-10-05T09:00:00+24:00", BERLIN)
