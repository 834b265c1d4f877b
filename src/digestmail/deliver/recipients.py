"""Who on the subscriber list still needs the issue, decided a chunk of rows at a time.

Asking the ledger about each address would cost a query per subscriber; asking once per chunk
(:data:`LOOKUP_CHUNK` rows, two queries: suppressions and delivery rows) keeps a million-row
list cheap while never holding more than one chunk in memory. Every skipped row is counted in
the run's :class:`Tally` under the reason the summary reports.

A chunk is screened well before its last message starts, so :class:`LateSuppressions` catches
what ``serve`` (or anyone) suppressed in between: the workers ask it just before each SMTP
transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from time import monotonic

from digestmail.deliver.counts import Counts, Outcome
from digestmail.ledger.store import DeliveryResult, Ledger
from digestmail.models import Delivery, DeliveryStatus, ProblemKind, Recipient
from digestmail.subscribers.reader import SubscriberProblem

POLL_INTERVAL = 0.01
"""Seconds between two looks at the ledger's log of new suppressions during a send. A look
that finds nothing new costs one indexed query (about 10 µs), so 100 looks a second cost the
send 0.1 % of a core; a suppression's commit reaches the send within this time."""

LOOKUP_CHUNK = 500
"""Rows screened per pair of ledger queries: large enough to amortise, small enough to stream."""

_FINAL = (DeliveryStatus.SENT, DeliveryStatus.FAILED_PERMANENT, DeliveryStatus.SUPPRESSED)
_DONE = (DeliveryStatus.SENT, DeliveryStatus.FAILED_PERMANENT)
"""Outcomes of a delivery that a later suppression does not change: _worth_sending skips them."""

Row = Recipient | SubscriberProblem


MAX_LISTED = 20
"""Permanent failures and invalid rows named in a run's summary; the counts cover the rest."""


@dataclass
class Tally:
    """What a run did so far: its counts, and the first failures and bad rows by name."""

    counts: Counts = field(default_factory=Counts)
    retrying: int = 0
    """Waiting for a backoff timer in this run (not an outcome yet)."""
    failures: list[str] = field(default_factory=list)
    """The first permanent failures as ``address: code reply``, for the summary."""
    invalid_rows: list[str] = field(default_factory=list)
    """The first invalid rows as ``line N: address: reason``, so a send names them too."""


def chunks(rows: Iterable[Row], size: int = LOOKUP_CHUNK) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@dataclass
class Screen:
    """Filters chunks of rows down to the recipients to send to, counting the rest.

    ``consult_ledger`` false (test copies) skips the ledger entirely. ``record`` receives a
    ``suppressed`` outcome for skipped suppressed addresses, so ``status`` counts them; it is
    None in a dry run, which writes nothing (and then ``remember_all`` catches repeats across
    chunks in memory, since no rows are written to catch them).
    """

    ledger: Ledger
    ledger_id: str
    list_key: str
    tally: Tally
    started: datetime
    give_up_after: timedelta | None = None
    consult_ledger: bool = True
    record: Callable[[DeliveryResult], object] | None = None
    remember_all: bool = False
    last_chance: dict[str, tuple[datetime, int]] = field(default_factory=dict, init=False)
    """Addresses deferred since before ``give_up_before``: (first attempt, attempts so far).
    Like a mail server past its queue lifetime, they get one more run's tries; if those are
    deferred too, the engine records them as failed for good."""
    seen: set[str] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.remember_all:
            self.seen = set()

    @property
    def give_up_before(self) -> datetime | None:
        after = self.give_up_after
        return self.started - after if after is not None else None

    def __call__(self, chunk: list[Row], in_flight: Container[str]) -> list[Recipient]:
        """The recipients of ``chunk`` to send to, in file order."""
        fresh = self._distinct(chunk)
        if not self.consult_ledger:
            return list(fresh.values())
        emails = [r.email for r in fresh.values()]
        suppressed = self.ledger.suppressed(emails, list_key=self.list_key)
        states = self.ledger.delivery_states(self.ledger_id, emails)
        tally = self.tally
        out: list[Recipient] = []
        for recipient in fresh.values():
            email = recipient.email
            state = states.get(email)
            done = state is not None and state.status in _DONE
            if email in suppressed and not done:  # sent or refused before: counted as that
                tally.counts[Outcome.SUPPRESSED] += 1
                self._record_suppressed(email, state)
            elif email in in_flight:
                tally.counts[Outcome.DUPLICATE] += 1
            elif state is None or self._worth_sending(state):
                out.append(recipient)
        return out

    def _distinct(self, chunk: list[Row]) -> dict[str, Recipient]:
        """Valid rows, first occurrence per address (case-insensitive); problems counted."""
        tally = self.tally
        fresh: dict[str, Recipient] = {}
        seen = self.seen
        for item in chunk:
            if isinstance(item, Recipient):
                key = item.email.casefold()
                if key in fresh or (seen is not None and key in seen):
                    tally.counts[Outcome.DUPLICATE] += 1
                else:
                    fresh[key] = item
            elif item.kind is ProblemKind.DUPLICATE:
                tally.counts[Outcome.DUPLICATE] += 1
            elif item.kind is ProblemKind.SUPPRESSED:
                tally.counts[Outcome.SUPPRESSED] += 1
            else:
                tally.counts[Outcome.INVALID] += 1
                if len(tally.invalid_rows) < MAX_LISTED:
                    shown = f"{item.email}: " if item.email else ""
                    tally.invalid_rows.append(f"line {item.line}: {shown}{item.reason}")
        if seen is not None:
            seen.update(fresh)
        return fresh

    def _record_suppressed(self, email: str, state: Delivery | None) -> None:
        """Show the skip in the issue's counts, without overwriting a final outcome."""
        if self.record is None or (state is not None and state.status in _FINAL):
            return
        self.record(DeliveryResult(email, DeliveryStatus.SUPPRESSED, None, ""))

    def _worth_sending(self, state: Delivery) -> bool:
        """Rows of earlier runs: resend attempts without outcome and temporary failures."""
        tally = self.tally
        updated = _utc(state.updated_at)
        if updated is not None and updated >= self.started:
            tally.counts[Outcome.DUPLICATE] += (
                1  # this run already handled the address: a repeated row
            )
            return False
        if state.status == DeliveryStatus.SENT:
            tally.counts[Outcome.ALREADY_SENT] += 1
            return False
        if state.status == DeliveryStatus.FAILED_PERMANENT:
            tally.counts[Outcome.ALREADY_FAILED] += 1
            return False
        first = _utc(state.created_at)
        if (
            state.status == DeliveryStatus.FAILED_TEMPORARY
            and self.give_up_before is not None
            and first is not None
            and first < self.give_up_before
        ):
            self.last_chance[state.email] = (first, state.attempts)
        # queued / failed_temporary: an earlier run's attempt without a final outcome. A row
        # marked suppressed whose suppression was lifted since is sent as well.
        return True


@dataclass
class LateSuppressions:
    """Suppressions made after the send started, for the messages screened before them.

    The ledger logs every new suppression under a growing number; this remembers the last
    number read and, at most every :data:`POLL_INTERVAL` seconds (and whenever ``poll`` is
    called: after each batch of attempts is committed), reads the rows after it. An address
    found there is checked once more against the suppressions themselves before its message is
    skipped, since a sign-up may have lifted the suppression again. Create it before the first
    chunk is screened, so nothing falls between the screen and the log.
    """

    ledger: Ledger
    list_key: str
    interval: float = field(default_factory=lambda: POLL_INTERVAL)
    mark: int = field(default=0, init=False)
    keys: set[str] = field(default_factory=set, init=False)
    """Case-folded addresses suppressed on the list (or every list) since the send started."""
    polled: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.mark = self.ledger.suppression_mark()
        self.polled = monotonic()

    def poll(self) -> None:
        self.polled = monotonic()
        self.mark, keys = self.ledger.suppressed_since(self.mark, list_key=self.list_key)
        if keys:
            self.keys |= keys

    def applies(self, email: str) -> bool:
        """Whether ``email`` was suppressed since the send started (and still is)."""
        if monotonic() - self.polled >= self.interval:
            self.poll()
        return email.casefold() in self.keys and self.ledger.is_suppressed(
            email, list_key=self.list_key
        )
