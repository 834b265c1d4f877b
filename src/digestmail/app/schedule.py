"""Which issues are due now: cron schedules read in the site's time zone, and catch-up rules.

``run-due`` is meant to run every hour from cron or a systemd timer, so everything here is a pure
function of the config, a moment and the ledger's status of each issue: running it twice at the
same moment gives the same answer, and a run that was missed (the machine was off) is caught up by
the next one. An issue whose sending started and did not finish (the run was killed, the relay
was down past the next due time) is due on every run until it finishes, however old it is: the
next run resumes it, so no subscriber is left without it.

Cron expressions are evaluated on the *wall clock* of the site's time zone, the way a person
reads ``0 8 1 * *`` ("eight in the morning on the first"), not in UTC. On the day the clocks go
forward a wall time that does not exist (02:30 in Europe/Berlin on the last Sunday of March) fires
once, at the first minute after the gap (03:00); on the day they go back a wall time that happens
twice fires once, at its first occurrence.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from digestmail.config import Config, ListConfig
from digestmail.errors import ConfigError, UsageError
from digestmail.models import IssueStatus, Period
from digestmail.selection import parse_period, period_of, previous_period
from digestmail.selection.late import LOOKBACK_PERIODS

_MAX_GAP_MINUTES = 3 * 60
"""Longest daylight-saving gap looked across (real ones are 30 or 60 minutes)."""

_MAX_WALK = 20 * LOOKBACK_PERIODS
"""Periods walked back at most to find due ones (a yearly schedule on a weekly list needs ~53)."""


@dataclass(frozen=True, slots=True)
class DueIssue:
    """One issue whose scheduled time has passed and that is not finished or skipped.

    ``too_old``: the issue lies beyond the list's ``catch_up`` window, was never started (it is
    not ``open`` in the ledger) and the caller did not ask for old issues; ``run-due`` reports it
    ("use --include-old") instead of sending it. An ``open`` issue is never too old: its sending
    started and must finish. With ``include_old`` every returned issue is meant to be sent and
    ``too_old`` is False.
    """

    list_key: str
    period: Period
    issue_id: str
    due_at: datetime
    too_old: bool


def _exists(wall: datetime, tz: ZoneInfo) -> datetime | None:
    """The aware moment a naive wall-clock time stands for, or None inside a DST gap.

    For a wall time that happens twice (the hour the clocks go back) this is its first
    occurrence (``fold=0``).
    """
    aware = wall.replace(tzinfo=tz, fold=0)
    back = aware.astimezone(UTC).astimezone(tz)
    return aware if back.replace(tzinfo=None) == wall else None


def _to_moment(wall: datetime, tz: ZoneInfo) -> datetime:
    """Map a scheduled wall time to a real moment; a time in a DST gap moves to the gap's end."""
    probe = wall
    for _ in range(_MAX_GAP_MINUTES + 1):
        moment = _exists(probe, tz)
        if moment is not None:
            return moment
        probe += timedelta(minutes=1)
    raise ValueError(f"no valid local time within {_MAX_GAP_MINUTES} minutes after {wall}")


def first_fire_after(
    schedule: str, moment: datetime, tz: ZoneInfo, *, inclusive: bool = False
) -> datetime:
    """The first moment ``schedule`` fires strictly after ``moment`` (at or after, if inclusive).

    The result is aware, in ``tz`` (readable in logs); ``moment`` may be in any zone, a naive
    one is read in ``tz``. Compare results in UTC: Python compares two datetimes of the same zone
    by wall clock and ignores ``fold``, so 02:30 CEST and 02:30 CET on the day the clocks go back
    would look equal.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    local = moment.astimezone(tz)
    # Compare in UTC: aware datetimes sharing a tzinfo compare by wall clock and ignore
    # ``fold``, which gets the repeated hour after the clocks go back wrong.
    after = moment.astimezone(UTC)
    # Start one minute early on the wall clock: a moment in the repeated hour after the clocks
    # went back reads as an earlier wall time than a fire time that already passed, and an
    # inclusive start must see a fire time equal to ``moment``.
    start = local.replace(tzinfo=None, second=0, microsecond=0) - timedelta(minutes=61)
    try:
        times = croniter(schedule, start)
    except (ValueError, KeyError) as exc:
        raise ValueError(f"not a valid cron expression: {schedule!r}") from exc
    previous: datetime | None = None
    while True:
        try:
            wall = times.get_next(datetime)
        except ValueError as exc:  # croniter gives up on dates that never come (30 February)
            raise ValueError(f"cron expression {schedule!r} never fires") from exc
        fire = _to_moment(wall, tz)
        if fire == previous:  # several wall times in one DST gap: fire once
            continue
        previous = fire
        fire_utc = fire.astimezone(UTC)
        if fire_utc > after or (inclusive and fire_utc == after):
            return fire


def due_at(list_cfg: ListConfig, period: Period, *, tz: ZoneInfo) -> datetime:
    """When the issue of ``period`` becomes due: the first scheduled time at or after its end.

    "At" matters: with ``0 0 1 * *`` October's issue is due at midnight on 1 November, not a
    month later.
    """
    return _due_at(list_cfg.schedule, period, tz)


@functools.lru_cache(maxsize=4096)
def _due_at(schedule: str, period: Period, tz: ZoneInfo) -> datetime:
    """Cached: every hourly run asks again for the same two years of periods."""
    return first_fire_after(schedule, period.end, tz, inclusive=True)


def _due_periods(
    list_cfg: ListConfig, *, now: datetime, tz: ZoneInfo
) -> list[tuple[Period, datetime]]:
    """Up to LOOKBACK_PERIODS periods of the list that are due at ``now``, newest first."""
    period = previous_period(period_of(now, cadence=list_cfg.cadence, tz=tz))
    now_utc = now.astimezone(UTC)  # see first_fire_after: never compare wall clocks
    found: list[tuple[Period, datetime]] = []
    for _ in range(_MAX_WALK):
        when = due_at(list_cfg, period, tz=tz)
        if when.astimezone(UTC) <= now_utc:
            found.append((period, when))
            if len(found) == LOOKBACK_PERIODS:
                break
        elif found:  # due times never decrease with the period; cannot happen, but be safe
            break
        period = previous_period(period)
    return found


@dataclass(frozen=True, slots=True)
class _Question:
    """What ``due_issues`` asks of every list: the moment, and what the ledger knows."""

    now: datetime
    tz: ZoneInfo
    status_of: Callable[[str], IssueStatus | None]
    include_old: bool
    open_issues: tuple[str, ...]


def _list_due(list_cfg: ListConfig, ask: _Question) -> list[DueIssue]:
    """The due, unhandled issues of one list, oldest first (the order they should be sent in).

    Newest first, the i-th due period is within the catch-up window when ``i < catch_up``
    (a ``catch_up`` of 0 counts as 1: the most recent due issue is what a schedule is for).
    Returned are:

    - every ``open`` issue (stored, partly delivered: a run was killed or the relay was down),
      however old, never as ``too_old``: a resumed send finishes what was started. Those in the
      look-back are found through ``status_of``; older ones (or ones of another cadence, after
      the list's cadence changed) only when their ids are in ``open_issues``;
    - every unhandled issue inside the window;
    - the unhandled issues older than the window back to the newest handled one (the gap since
      the last issue: downtime), as ``too_old``; once a newer issue has gone out they are not
      reported again, so hourly runs do not repeat the warning forever;
    - with ``include_old``, also the holes back to the oldest handled issue in the look-back
      (or the whole look-back when nothing was ever handled), all to be sent (not ``too_old``).

    A list with no handled issue in the look-back (a new list) reports nothing older than the
    window: its earlier periods were never missed, they predate it.
    """
    window, include_old = max(list_cfg.catch_up, 1), ask.include_old
    periods = _due_periods(list_cfg, now=ask.now, tz=ask.tz)
    statuses = [ask.status_of(f"{list_cfg.key}-{p.key}") for p, _ in periods]
    handled = [i for i, status in enumerate(statuses) if status is not None and status.handled]
    if include_old:
        limit = handled[-1] if handled else len(periods)
    else:
        # Nothing handled in the look-back: a new list, or one revived after years. Its older
        # periods were not missed, so they are not reported on every run either.
        limit = handled[0] if handled else window
    result = [
        DueIssue(
            list_key=list_cfg.key,
            period=period,
            issue_id=f"{list_cfg.key}-{period.key}",
            due_at=when,
            too_old=i >= window and not include_old and status != IssueStatus.OPEN,
        )
        for i, ((period, when), status) in enumerate(zip(periods, statuses, strict=True))
        if status == IssueStatus.OPEN
        or ((status is None or not status.handled) and (i < window or i < limit))
    ]
    seen = {item.issue_id for item in result}
    result.extend(_open_beyond_lookback(list_cfg, ask, seen))
    # in UTC: see first_fire_after, wall clocks of one zone compare without ``fold``
    result.sort(key=lambda item: (item.period.start.astimezone(UTC), item.issue_id))
    return result


def _open_beyond_lookback(list_cfg: ListConfig, ask: _Question, seen: set[str]) -> list[DueIssue]:
    """The ``open`` issues among ``ask.open_issues`` of the list that are not in ``seen``.

    ``status_of`` cannot list issues, so an open issue older than the look-back is only known
    from ``open_issues`` (the caller's list of the ledger's open issues). Each is checked again with
    ``status_of``. Ids of other lists, of date-range periods (a manual ``send --period A..B``,
    not something a schedule makes) and issues not yet due are left out; one not yet due is
    returned once its time comes, like any other.
    """
    prefix, now, tz = f"{list_cfg.key}-", ask.now, ask.tz
    now_utc = now.astimezone(UTC)
    found: list[DueIssue] = []
    for issue_id in ask.open_issues:
        if issue_id in seen or not issue_id.startswith(prefix):
            continue
        try:
            period = parse_period(
                issue_id.removeprefix(prefix), cadence=list_cfg.cadence, now=now, tz=tz
            )
        except UsageError:  # another list's issue whose key starts with this list's key
            continue
        if period.kind not in ("month", "week") or f"{prefix}{period.key}" != issue_id:
            continue
        if ask.status_of(issue_id) != IssueStatus.OPEN:
            continue
        when = due_at(list_cfg, period, tz=tz)
        if when.astimezone(UTC) > now_utc:
            continue
        seen.add(issue_id)
        found.append(
            DueIssue(
                list_key=list_cfg.key,
                period=period,
                issue_id=issue_id,
                due_at=when,
                too_old=False,
            )
        )
    return found


def due_issues(
    config: Config,
    *,
    now: datetime,
    status_of: Callable[[str], IssueStatus | None],
    include_old: bool = False,
    open_issues: Iterable[str] = (),
) -> list[DueIssue]:
    """Every issue of every list that is due at ``now`` and neither finished nor skipped.

    ``status_of(issue_id)`` is the ledger's status of an issue (``open``, ``finished``,
    ``skipped``) or None when the ledger has never seen it. An ``open`` issue (partly delivered)
    is always due and never ``too_old``, whatever ``catch_up`` says. ``status_of`` can only be
    asked about the periods looked at (LOOKBACK_PERIODS), so ``open_issues`` names the ledger's
    open issues (of any list) for the ones older than that:
    ``[s.id for s in ledger.issues(with_counts=False) if s.status is IssueStatus.OPEN]``.

    Lists come in config order and each list's issues oldest first. See :func:`_list_due` for
    the catch-up rules.
    """
    tz = config.site.timezone
    if now.tzinfo is None:
        now = now.replace(tzinfo=tz)
    # open_issues is read once, and looked through for every list
    ask = _Question(now, tz, status_of, include_old, tuple(open_issues))
    found: list[DueIssue] = []
    for list_cfg in config.lists.values():
        try:
            found.extend(_list_due(list_cfg, ask))
        except ValueError as exc:
            raise ConfigError(
                str(exc), path=config.path, key=f"lists.{list_cfg.key}.schedule"
            ) from exc
    return found
