"""What became of each subscriber row in a run, counted under one name per outcome.

Also the snapshot of those counts that a progress bar is sent while the run goes on.

The summary table, the log line, the progress bar and the exit code all read the same
:class:`Counts`, and each :class:`Outcome` knows how people and logs call it, so a new outcome
is one member here rather than a field in five places.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass


class Outcome(enum.StrEnum):
    """One row's fate in a run; the value is the key in log lines and JSON."""

    SENT = "sent"
    """Accepted by the transport (in a dry run: would be sent)."""
    ALREADY_SENT = "already_sent"
    ALREADY_FAILED = "already_failed"
    """Refused permanently in an earlier run: not tried again, not an error now."""
    SUPPRESSED = "suppressed"
    INVALID = "invalid"
    DUPLICATE = "duplicates"
    FAILED_PERMANENT = "failed_permanent"
    LEFT_TO_RETRY = "left_to_retry"
    """Deferred or interrupted: the next run tries again."""

    @property
    def label(self) -> str:
        """How the closing summary names the outcome."""
        return _LABELS[self]

    @property
    def skipped(self) -> bool:
        """Not tried in this run, because of an earlier run, the ledger or the row itself."""
        return self in _SKIPPED

    @property
    def address(self) -> bool:
        """Counts a valid, distinct address (not a bad or repeated row)."""
        return self not in (Outcome.INVALID, Outcome.DUPLICATE)


_LABELS = {
    Outcome.SENT: "sent",
    Outcome.ALREADY_SENT: "skipped: already sent",
    Outcome.ALREADY_FAILED: "skipped: failed permanently before",
    Outcome.SUPPRESSED: "skipped: suppressed",
    Outcome.INVALID: "skipped: invalid address",
    Outcome.DUPLICATE: "skipped: duplicate",
    Outcome.FAILED_PERMANENT: "failed permanently",
    Outcome.LEFT_TO_RETRY: "left to retry",
}
_SKIPPED = frozenset(
    {
        Outcome.ALREADY_SENT,
        Outcome.ALREADY_FAILED,
        Outcome.SUPPRESSED,
        Outcome.INVALID,
        Outcome.DUPLICATE,
    }
)


class Counts(Counter[Outcome]):
    """Rows per :class:`Outcome`; a missing outcome counts 0."""

    @property
    def addresses(self) -> int:
        """Valid, distinct addresses met so far, whatever became of them."""
        return sum(n for outcome, n in self.items() if outcome.address)

    @property
    def skipped(self) -> int:
        return sum(n for outcome, n in self.items() if outcome.skipped)

    @property
    def processed(self) -> int:
        """Rows that have an outcome in this run."""
        return sum(self.values())


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """A snapshot for a progress bar; sent every ~0.25 s and once more at the end."""

    issue_id: str
    counts: Counts
    retrying: int
    """Waiting for a backoff timer in this run."""
    total: int | None
    elapsed: float
    done: bool = False

    @property
    def waiting(self) -> int:
        """Waiting for another try: a backoff timer in this run, or left for the next run."""
        return self.retrying + self.counts[Outcome.LEFT_TO_RETRY]

    @property
    def rate(self) -> float:
        """Messages accepted per second so far."""
        return self.counts[Outcome.SENT] / self.elapsed if self.elapsed > 0 else 0.0


ProgressSink = Callable[[ProgressEvent], None]
"""Where a run reports its progress: a bar on a terminal, a log line every few seconds otherwise."""
