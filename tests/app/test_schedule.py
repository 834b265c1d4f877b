"""When issues become due: cron in the site's time zone, DST days, downtime and the catch-up limit.

These drive the pure functions with a dict standing in for the ledger; tests/app/test_run_due.py
does the same through the real command, SMTP server and SQLite ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from digestmail.app.schedule import DueIssue, due_issues, first_fire_after
from digestmail.config import Config, load_config
from digestmail.models import IssueStatus
from digestmail.selection.late import late_window
from digestmail.selection.periods import parse_period
from tests.helpers.project import MakeProject

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def fires(schedule: str, start: datetime, end: datetime) -> list[datetime]:
    """Every fire time of ``schedule`` in (start, end), in UTC, walking with first_fire_after.

    UTC because aware datetimes in one zone compare by wall clock and ignore ``fold``.
    """
    out: list[datetime] = []
    moment = start
    while True:
        moment = first_fire_after(schedule, moment, BERLIN).astimezone(UTC)
        if moment >= end:
            return out
        out.append(moment)


ConfigWith = Callable[..., Config]


@pytest.fixture
def config_with(make_project: MakeProject) -> ConfigWith:
    """A loaded config whose ``monthly`` list gets the given extra settings."""

    def make(list_settings: str = "") -> Config:
        return load_config(make_project(extra_config=list_settings))

    return make


class FakeLedger:
    """Issue statuses in a dict, and the moment each issue was sent."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {}
        self.sent_at: dict[str, datetime] = {}

    def status_of(self, issue_id: str) -> IssueStatus | None:
        status = self.status.get(issue_id)
        return IssueStatus(status) if status is not None else None

    def open_issues(self) -> list[str]:
        """What run-due passes as ``open_issues``: the ledger's issues with status ``open``."""
        return [issue_id for issue_id, status in self.status.items() if status == "open"]

    def run(self, config: Config, now: datetime, *, include_old: bool = False) -> list[DueIssue]:
        """What run-due does with the answer: send what is not too old, report the rest."""
        due = due_issues(
            config,
            now=now,
            status_of=self.status_of,
            include_old=include_old,
            open_issues=self.open_issues(),
        )
        for issue in due:
            if issue.too_old:
                continue
            assert issue.issue_id not in self.sent_at, f"{issue.issue_id} sent twice"
            assert self.status.get(issue.issue_id) in (None, "open"), issue.issue_id
            self.status[issue.issue_id] = "finished"
            self.sent_at[issue.issue_id] = now.astimezone(UTC)
        return due


# --- first_fire_after ---------------------------------------------------------------------------


def test_default_schedule_fires_at_eight_on_the_first_in_site_time() -> None:
    assert first_fire_after("0 8 1 * *", berlin(2026, 10, 15), BERLIN) == berlin(2026, 11, 1, 8)
    # in winter and summer time alike: the wall clock, not UTC, decides
    assert first_fire_after("0 8 1 * *", berlin(2026, 6, 2), BERLIN).utcoffset() == timedelta(
        hours=2
    )
    assert first_fire_after("0 8 1 * *", berlin(2026, 12, 2), BERLIN) == utc(2027, 1, 1, 7)


def test_fire_time_is_strictly_after_unless_inclusive() -> None:
    at = berlin(2026, 11, 1, 8)
    assert first_fire_after("0 8 1 * *", at, BERLIN) == berlin(2026, 12, 1, 8)
    assert first_fire_after("0 8 1 * *", at, BERLIN, inclusive=True) == at


def test_a_moment_given_in_another_zone_is_compared_as_the_same_instant() -> None:
    # 06:59 UTC is 07:59 in Berlin in November: the 08:00 fire is one minute away
    assert first_fire_after("0 8 * * *", utc(2026, 11, 2, 6, 59), BERLIN) == berlin(2026, 11, 2, 8)


def test_0230_on_the_spring_forward_day_fires_once_right_after_the_gap() -> None:
    got = fires("30 2 * * *", berlin(2026, 3, 28, 12), berlin(2026, 3, 30, 12))
    assert got == [berlin(2026, 3, 29, 3, 0), berlin(2026, 3, 30, 2, 30)]
    local = first_fire_after("30 2 * * *", berlin(2026, 3, 28, 12), BERLIN)
    assert (local.hour, local.minute, local.utcoffset()) == (3, 0, timedelta(hours=2))


def test_0230_on_the_fall_back_day_fires_once_at_its_first_occurrence() -> None:
    got = fires("30 2 * * *", berlin(2026, 10, 24, 12), berlin(2026, 10, 26, 12))
    assert got == [utc(2026, 10, 25, 0, 30), berlin(2026, 10, 26, 2, 30)]
    # asked during the repeated hour, after the first 02:30 passed: the next is a day later
    second_pass = utc(2026, 10, 25, 1, 10)  # 02:10 CET, the second time the clock shows 02:10
    assert first_fire_after("30 2 * * *", second_pass, BERLIN) == utc(2026, 10, 26, 1, 30)


def test_0800_on_both_switch_days_is_eight_on_the_wall_clock() -> None:
    assert fires("0 8 * * *", berlin(2026, 3, 28, 12), berlin(2026, 3, 30)) == [utc(2026, 3, 29, 6)]
    assert fires("0 8 * * *", berlin(2026, 10, 24, 12), berlin(2026, 10, 26)) == [
        utc(2026, 10, 25, 7)
    ]


def test_an_hourly_schedule_has_23_and_25_hour_days_without_duplicates() -> None:
    spring = fires("0 * * * *", berlin(2026, 3, 29), berlin(2026, 3, 30))
    fall = fires("0 * * * *", berlin(2026, 10, 25), berlin(2026, 10, 26))
    assert len(spring) == len(set(spring)) == 22  # 00:00 excluded (start), 02:00 never exists
    # the repeated 02:00 fires once: cron reads the wall clock
    assert len(fall) == len(set(fall)) == 23


def test_a_bad_cron_expression_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="not a valid cron expression: '61 8 1 \\* \\*'"):
        first_fire_after("61 8 1 * *", berlin(2026, 1, 1), BERLIN)


# --- due_issues ---------------------------------------------------------------------------------


def test_october_is_due_from_the_first_scheduled_time_after_it_ends(
    config_with: ConfigWith,
) -> None:
    config = config_with()
    ledger = FakeLedger()
    ledger.status["monthly-2026-09"] = "finished"
    assert due_issues(config, now=berlin(2026, 11, 1, 7, 59), status_of=ledger.status_of) == []
    (issue,) = due_issues(config, now=berlin(2026, 11, 1, 8), status_of=ledger.status_of)
    assert (issue.issue_id, issue.period.key) == ("monthly-2026-10", "2026-10")
    assert issue.due_at == berlin(2026, 11, 1, 8)
    assert not issue.too_old


def test_a_simulated_year_sends_each_month_once_on_the_first_run_after_its_time(
    config_with: ConfigWith,
) -> None:
    config = config_with()
    ledger = FakeLedger()
    ledger.status["monthly-2025-11"] = "finished"  # mailed on 1 December, before the year
    runs = [
        berlin(2026, 1, 1) + timedelta(days=day, hours=hour)
        for day in range(366)
        for hour in (1, 7, 13, 19)  # every six hours: 08:00 itself is never a run
    ]
    for now in runs:
        ledger.run(config, now)
    sent = ledger.sent_at
    months = [(2025, 12)] + [(2026, m) for m in range(1, 13)]
    assert sorted(sent) == [f"monthly-{y}-{m:02d}" for y, m in months]
    for year, month in months:
        first = berlin(year + 1, 1, 1) if month == 12 else berlin(year, month + 1, 1)
        assert sent[f"monthly-{year}-{month:02d}"] == first + timedelta(hours=13)


def test_downtime_on_the_first_sends_the_missed_issue_on_the_next_run(
    config_with: ConfigWith,
) -> None:
    config = config_with()
    ledger = FakeLedger()
    ledger.status["monthly-2026-09"] = "finished"
    ledger.run(config, berlin(2026, 10, 31, 23))  # the last run before the machine went off
    assert ledger.sent_at == {}
    ledger.run(config, berlin(2026, 11, 3, 10, 17))  # back on the 3rd
    assert ledger.sent_at == {"monthly-2026-10": berlin(2026, 11, 3, 10, 17)}
    assert ledger.run(config, berlin(2026, 11, 3, 11)) == []


def test_a_server_revived_after_a_year_sends_only_the_latest_and_reports_the_rest(
    config_with: ConfigWith,
) -> None:
    config = config_with()
    ledger = FakeLedger()
    ledger.status["monthly-2025-10"] = "finished"
    due = ledger.run(config, berlin(2026, 11, 2, 9))
    assert ledger.sent_at == {"monthly-2026-10": berlin(2026, 11, 2, 9)}
    old = [d.issue_id for d in due if d.too_old]
    assert old == [f"monthly-{y}-{m:02d}" for y, m in [(2025, 11), (2025, 12)]] + [
        f"monthly-2026-{m:02d}" for m in range(1, 10)
    ]
    # the next hourly run is quiet: the warning is not repeated forever
    assert ledger.run(config, berlin(2026, 11, 2, 10)) == []
    # --include-old fills the hole between the last issue before the downtime and now
    ledger.run(config, berlin(2026, 11, 2, 11), include_old=True)
    assert len(ledger.sent_at) == 12
    assert ledger.run(config, berlin(2026, 11, 2, 12), include_old=True) == []


def test_catch_up_sets_how_many_missed_periods_are_still_sent(config_with: ConfigWith) -> None:
    config = config_with("catch_up = 3\n")
    ledger = FakeLedger()
    ledger.status["monthly-2026-04"] = "finished"
    due = ledger.run(config, berlin(2026, 11, 2, 9))
    assert sorted(ledger.sent_at) == ["monthly-2026-08", "monthly-2026-09", "monthly-2026-10"]
    assert [d.issue_id for d in due if d.too_old] == [
        "monthly-2026-05",
        "monthly-2026-06",
        "monthly-2026-07",
    ]


def test_a_new_list_mails_the_window_oldest_first_and_reports_no_history(
    config_with: ConfigWith,
) -> None:
    config = config_with("catch_up = 2\n")
    due = due_issues(config, now=berlin(2026, 11, 2), status_of=lambda _: None)
    assert [d.issue_id for d in due] == ["monthly-2026-09", "monthly-2026-10"]
    assert not any(d.too_old for d in due)  # a new list has no history to report as missed
    old = due_issues(config, now=berlin(2026, 11, 2), status_of=lambda _: None, include_old=True)
    assert len(old) == 24  # --include-old on a fresh ledger looks back two years, no further
    assert not any(d.too_old for d in old)  # asked for: all of them are to be sent


def test_an_interrupted_send_stays_due_and_a_skipped_month_does_not(
    config_with: ConfigWith,
) -> None:
    config = config_with("catch_up = 2\n")
    status = {
        "monthly-2026-08": IssueStatus.FINISHED,
        "monthly-2026-09": IssueStatus.OPEN,  # cut off mid-send: resume it
        "monthly-2026-10": IssueStatus.SKIPPED,  # empty month, recorded
    }
    due = due_issues(config, now=berlin(2026, 11, 2), status_of=status.get)
    assert [(d.issue_id, d.too_old) for d in due] == [("monthly-2026-09", False)]


def test_an_issue_cut_off_mid_send_is_resumed_after_the_next_one_became_due(
    config_with: ConfigWith,
) -> None:
    # The review finding: the 1 November run (sending October) was killed part-way; the
    # 1 December run must finish October, not report it as older than catch_up.
    config = config_with()
    ledger = FakeLedger()
    ledger.status["monthly-2026-09"] = "finished"
    ledger.status["monthly-2026-10"] = "open"  # killed with SIGKILL on 1 November
    due = ledger.run(config, berlin(2026, 12, 1, 9))
    assert [(d.issue_id, d.too_old) for d in due] == [
        ("monthly-2026-10", False),  # oldest first: finish what was started, then the new one
        ("monthly-2026-11", False),
    ]
    assert ledger.status["monthly-2026-10"] == ledger.status["monthly-2026-11"] == "finished"
    assert ledger.run(config, berlin(2026, 12, 1, 10)) == []


def test_an_open_issue_is_never_too_old_and_the_holes_around_it_keep_their_rules(
    config_with: ConfigWith,
) -> None:
    config = config_with()  # catch_up = 1
    status = {
        "monthly-2026-07": IssueStatus.FINISHED,
        "monthly-2026-08": IssueStatus.SKIPPED,
        # September never went out (downtime): still reported as too old, not sent
        "monthly-2026-10": IssueStatus.OPEN,  # a relay outage (exit 75) lasting past 1 November
    }
    for include_old in (False, True):
        due = due_issues(
            config, now=berlin(2026, 12, 1, 9), status_of=status.get, include_old=include_old
        )
        assert [(d.issue_id, d.too_old) for d in due] == [
            ("monthly-2026-09", not include_old),
            ("monthly-2026-10", False),
            ("monthly-2026-11", False),
        ]


def test_an_open_issue_at_the_end_of_the_look_back_is_still_due(config_with: ConfigWith) -> None:
    config = config_with()
    status = {"monthly-2024-12": IssueStatus.OPEN, "monthly-2026-10": IssueStatus.FINISHED}
    # 1 December 2026: the look-back is December 2024 to November 2026 (24 periods)
    due = due_issues(config, now=berlin(2026, 12, 1, 9), status_of=status.get)
    assert [(d.issue_id, d.too_old) for d in due] == [
        ("monthly-2024-12", False),
        ("monthly-2026-11", False),
    ]
    assert due[0].due_at == berlin(2025, 1, 1, 8)


def test_an_open_issue_older_than_the_look_back_is_found_through_open_issues(
    config_with: ConfigWith,
) -> None:
    config = config_with()
    status = {"monthly-2024-06": IssueStatus.OPEN, "monthly-2026-10": IssueStatus.FINISHED}
    now = berlin(2026, 12, 1, 9)
    # status_of alone cannot find it: it is only asked about the 24 periods looked at
    alone = due_issues(config, now=now, status_of=status.get)
    assert [d.issue_id for d in alone] == ["monthly-2026-11"]
    for include_old in (False, True):
        due = due_issues(
            config,
            now=now,
            status_of=status.get,
            include_old=include_old,
            open_issues=["monthly-2024-06"],
        )
        assert [(d.issue_id, d.too_old) for d in due] == [
            ("monthly-2024-06", False),
            ("monthly-2026-11", False),
        ]
        assert due[0].period.key == "2024-06" and due[0].list_key == "monthly"
        assert due[0].due_at == berlin(2024, 7, 1, 8)


def test_open_issues_takes_only_open_due_scheduled_issues_of_the_list_once(
    config_with: ConfigWith,
) -> None:
    config = config_with()
    status = {
        "monthly-2024-05": IssueStatus.OPEN,
        "monthly-2024-06": IssueStatus.FINISHED,  # a stale caller's list: status_of decides
        "monthly-2026-11": IssueStatus.OPEN,  # in the look-back as well: returned once
        # sent by hand before it was due: resumed once it is due
        "monthly-2026-12": IssueStatus.OPEN,
        # a manual date-range send, not scheduled
        "monthly-2024-03-01..2024-03-31": IssueStatus.OPEN,
        "monthly-extra-2024-05": IssueStatus.OPEN,  # another list whose key starts with this one's
        "weekly-2024-W10": IssueStatus.OPEN,  # another list
    }
    due = due_issues(
        config,
        now=berlin(2026, 12, 1, 9),
        status_of=status.get,
        open_issues=iter(status),  # any iterable, read once
    )
    assert [(d.issue_id, d.too_old) for d in due] == [
        ("monthly-2024-05", False),
        ("monthly-2026-11", False),
    ]


def test_a_weekly_issue_cut_off_by_a_long_relay_outage_is_resumed(
    config_with: ConfigWith,
) -> None:
    config = config_with('cadence = "week"\nschedule = "0 7 * * 1"\n')
    ledger = FakeLedger()
    ledger.status["monthly-2026-W39"] = "finished"
    ledger.status["monthly-2026-W40"] = "open"  # the relay went down on Monday 5 October
    due = ledger.run(config, berlin(2026, 10, 26, 8))  # three weeks later
    assert [(d.issue_id, d.too_old) for d in due] == [
        ("monthly-2026-W40", False),
        ("monthly-2026-W41", True),  # never started: catch_up rules as before
        ("monthly-2026-W42", True),
        ("monthly-2026-W43", False),
    ]
    assert ledger.status["monthly-2026-W40"] == "finished"
    # An outage longer than the 24-week look-back: found through open_issues
    ledger.status["monthly-2026-W44"] = "open"
    later = ledger.run(config, berlin(2027, 6, 7, 8))
    assert [(d.issue_id, d.too_old) for d in later][:1] == [("monthly-2026-W44", False)]
    assert ledger.status["monthly-2026-W44"] == "finished"


def test_weekly_cadence_is_due_on_the_monday_after_each_iso_week(config_with: ConfigWith) -> None:
    config = config_with('cadence = "week"\nschedule = "0 7 * * 1"\n')
    ledger = FakeLedger()
    ledger.status["monthly-2026-W38"] = "finished"
    for day in range(35):  # 28 September (Monday of W40) to 1 November
        for hour in (6, 12):
            ledger.run(config, berlin(2026, 9, 28) + timedelta(days=day, hours=hour))
    sent = ledger.sent_at
    assert sorted(sent) == [f"monthly-2026-W{w}" for w in range(39, 44)]
    assert sent["monthly-2026-W40"] == berlin(2026, 10, 5, 12)  # Monday 07:00 passed at 12:00
    assert all(v.astimezone(BERLIN).weekday() == 0 for v in sent.values())


@pytest.mark.parametrize(
    ("schedule", "week", "fires_at", "first_run_after"),
    [
        # Sundays 29 March and 25 October 2026; the issue is the ISO week before
        ("30 2 * * 0", "2026-W12", utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 7)),  # 03:00 CEST
        ("0 8 * * 0", "2026-W12", utc(2026, 3, 29, 6, 0), utc(2026, 3, 29, 6, 7)),
        ("30 2 * * 0", "2026-W42", utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 0, 47)),  # CEST
        ("0 8 * * 0", "2026-W42", utc(2026, 10, 25, 7, 0), utc(2026, 10, 25, 7, 7)),
    ],
)
def test_on_a_switch_day_frequent_runs_send_the_issue_exactly_once(
    config_with: ConfigWith, schedule: str, week: str, fires_at: datetime, first_run_after: datetime
) -> None:
    config = config_with(f'cadence = "week"\nschedule = "{schedule}"\n')
    ledger = FakeLedger()
    ledger.status["monthly-2026-W11"] = ledger.status["monthly-2026-W41"] = "finished"
    start = fires_at.replace(hour=0, minute=7) - timedelta(hours=2)
    for step in range(15 * 6):  # every 20 real minutes, so the repeated hour is run three times
        ledger.run(config, start + timedelta(minutes=20 * step))
    assert ledger.sent_at == {f"monthly-{week}": first_run_after}
    ledger.status.pop(f"monthly-{week}")
    (due,) = due_issues(config, now=first_run_after, status_of=ledger.status_of)
    assert due.due_at.astimezone(UTC) == fires_at  # (02:30 on 25 October is ambiguous locally)


# --- late tips window ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    id: str
    period: str
    status: str


def test_late_tips_reach_back_through_the_handled_periods_before_the_issue(
    config_with: ConfigWith,
) -> None:
    list_cfg = config_with().lists["monthly"]

    def window(period: str, records: dict[str, str]) -> datetime | None:
        summaries = [
            Record(f"monthly-{key}", key, IssueStatus(status)) for key, status in records.items()
        ]
        when = parse_period(period, cadence="month", now=berlin(2027, 1, 1), tz=BERLIN)
        return late_window(summaries, list_cfg=list_cfg, tz=BERLIN, period=when)

    history = {"2026-07": "skipped", "2026-08": "finished", "2026-09": "skipped"}
    history["2026-10"] = "finished"
    # back to the oldest finished issue; skipped months inside the run count as mailed
    assert window("2026-11", history) == berlin(2026, 8, 1)
    # nothing ever mailed: the first issue holds only its own period
    assert window("2026-11", {}) is None
    assert window("2026-08", {"2026-07": "skipped"}) is None
    # the issue itself (a resumed send) and anything after it do not count
    assert window("2026-08", history) is None
    # a month that was never mailed (downtime beyond catch_up) ends the window: its tips are
    # not "late", they wait for --include-old to mail them in their own issue
    gap = {"2026-05": "finished", "2026-06": "open", "2026-09": "finished"}
    assert window("2026-11", gap) is None  # October was never mailed either
    gap["2026-10"] = "finished"
    assert window("2026-11", gap) == berlin(2026, 9, 1)
    # at most two years back
    long = {f"{y}-{m:02d}": "finished" for y in (2023, 2024, 2025) for m in range(1, 13)}
    assert window("2026-01", long) == berlin(2024, 1, 1)
