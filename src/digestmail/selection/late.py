"""The late-tip window: where an issue reaches back for posts an earlier issue could not have had.

A tip dated in a month that was already mailed, but published only afterwards (a future
``publishDate``, a draft turned live), belongs in the next issue and in no other. Which earlier
periods count is decided by the ledger's record of what was mailed, read here as plain data.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from digestmail.config import ListConfig
from digestmail.models import IssueStatus, Period
from digestmail.selection.periods import period_of, previous_period

LOOKBACK_PERIODS = 24
"""How many due periods of a list ``due_issues`` looks at, newest first.

Bounds the work of every hourly run and the flood a ``--include-old`` run can cause on a fresh
ledger: at most two years of monthly issues or 24 weekly ones.
"""


class IssueRecord(Protocol):
    """What :func:`late_window` needs of a ledger's issue summary."""

    @property
    def id(self) -> str: ...
    @property
    def period(self) -> str: ...
    @property
    def status(self) -> IssueStatus: ...


def late_window(
    issues: Iterable[IssueRecord],
    *,
    list_cfg: ListConfig,
    tz: ZoneInfo,
    period: Period,
) -> datetime | None:
    """Where the late tips of the issue for ``period`` start, or None when there are none.

    A late tip is a post dated in an earlier, already mailed period of the list that was not yet
    published when that issue went out (a future ``publishDate``, a draft turned live).
    ``select()`` takes the posts dated between the returned moment and ``period.start`` that are
    published at the cut-off and not yet sent.

    The window covers the unbroken run of handled (finished or skipped) periods just before
    ``period``, back to the oldest *finished* one in it, and at most LOOKBACK_PERIODS:

    - nothing before the list's first mailing floods in (no finished issue: None);
    - a period that was never mailed (downtime beyond ``catch_up``) ends the run, so its posts
      do not pour into the next issue as "late"; ``run-due --include-old`` still mails them in
      their own issue.

    ``issues`` are the ledger's summaries of the list (``Ledger.issues(list_key)``); the issue
    for ``period`` itself is not looked at, so a resumed send computes the same window.
    """
    status = {record.id: record.status for record in issues}
    step = period_of(period.start - timedelta(microseconds=1), cadence=list_cfg.cadence, tz=tz)
    oldest: datetime | None = None
    for _ in range(LOOKBACK_PERIODS):
        found = status.get(f"{list_cfg.key}-{step.key}")
        if found is None or not found.handled:
            break
        if found is IssueStatus.FINISHED:
            oldest = step.start
        step = previous_period(step)
    return oldest
