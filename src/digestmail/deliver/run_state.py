"""The state one send shares between its producer, workers and retry timers, and how it stops.

:class:`RunState` is what :class:`~digestmail.deliver.workers.SendRun` builds on: the queue, the
window of recipients between the file and their outcome, the tally, the journal, and the
bookkeeping every path ends in (a job finished, dropped, requeued; the run halted). Kept apart
from what the producer and workers *do*, so that the rules of stopping read in one place.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from digestmail.deliver.counts import Counts, Outcome, ProgressEvent
from digestmail.deliver.group_commit import Journal
from digestmail.deliver.job import MessageFactoryLike, SendJob
from digestmail.deliver.ratelimit import TokenBucket
from digestmail.deliver.recipients import MAX_LISTED, LateSuppressions, Screen, Tally
from digestmail.deliver.transports.base import Transport
from digestmail.deliver.transports.smtp import envelope_sender
from digestmail.models import OutgoingMessage, Recipient

MARK_BATCH = 100
"""Attempts recorded per ledger transaction by the producer."""
PROGRESS_INTERVAL = 0.25


def window(connections: int) -> int:
    """How many recipients may be between the file and their outcome at once."""
    return 2 * connections * 100


@dataclass(eq=False)
class Job:
    recipient: Recipient
    tries: int = 0
    message: OutgoingMessage | None = None
    marked: bool = False
    """An attempt is committed for the next try (so dropping the job leaves a ledger row)."""


class RunState:
    """One send of one issue: the shared state of producer, workers and timers."""

    def __init__(
        self,
        job: SendJob,
        *,
        transport: Transport,
        factory: MessageFactoryLike,
        ledger_id: str,
        consult_ledger: bool,
    ) -> None:
        """``ledger_id`` is the issue's id, or ``<id>#test`` for test copies, which also do not
        ``consult_ledger`` (suppressions and earlier copies do not apply to them)."""
        list_cfg = job.list_cfg
        ledger = job.ledger
        self.cfg = job.config.smtp
        self.list_key = list_cfg.key
        self.sender = envelope_sender(list_cfg.from_addr)
        self.ledger = ledger
        self.ledger_id = ledger_id
        self.transport = transport
        self.factory = factory
        self.dry_run = job.dry_run
        self.stop = job.stop
        self.on_progress = job.on_progress
        self.total = job.total
        self.tally = Tally()
        self.journal = Journal(ledger, ledger_id)
        self.screen = Screen(
            ledger=ledger,
            ledger_id=ledger_id,
            list_key=list_cfg.key,
            tally=self.tally,
            started=datetime.now(UTC),
            give_up_after=timedelta(days=self.cfg.give_up_after_days),
            consult_ledger=consult_ledger,
            record=None if job.dry_run else self.journal.add_result,
            remember_all=job.dry_run,
        )
        self.late = (
            LateSuppressions(ledger, list_cfg.key) if consult_ledger and not job.dry_run else None
        )
        """Suppressions made while this run sends; checked before each message starts."""
        self.workers = max(1, transport.max_connections)
        self.bucket = TokenBucket(self.cfg.rate_per_second)
        self.window = asyncio.Semaphore(window(self.workers))
        self.queue: asyncio.Queue[Job | None] = asyncio.Queue()
        self.active: set[str] = set()
        self.retries: dict[Job, asyncio.TimerHandle] = {}
        self.clock0 = time.monotonic()
        self.outstanding = 0
        self.feeding = True
        self.stopping = False
        self.halted = asyncio.Event()
        """Set with ``stopping``, for waits that must end early (the rate limit)."""
        self.idle = asyncio.Event()
        self.error: BaseException | None = None
        self.dead_workers = 0
        self.tried = 0
        """Messages handed to a connection: once above 0, something may have gone out."""

    # --- bookkeeping -------------------------------------------------------------------------

    def _requeue(self, job: Job) -> None:
        self.retries.pop(job, None)
        self.tally.retrying -= 1
        if self.stopping:
            self.tally.counts[Outcome.LEFT_TO_RETRY] += 1
            self._finish(job)
        else:
            self.queue.put_nowait(job)

    def _drop(self, job: Job) -> None:
        """A job left undone by a stop; if its attempt is already recorded, it is pending.

        A retry (``tries``) is pending too: its row holds the temporary failure.
        """
        if job.marked or job.tries:
            self.tally.counts[Outcome.LEFT_TO_RETRY] += 1
        self._finish(job)

    def _finish(self, job: Job) -> None:
        self.active.discard(job.recipient.email)
        self.outstanding -= 1
        self.window.release()
        self._maybe_idle()

    def _note_failure(self, text: str) -> None:
        if len(self.tally.failures) < MAX_LISTED:
            self.tally.failures.append(text)

    def _fail(self, exc: BaseException) -> None:
        self.error = self.error or exc
        self.halt()

    # --- ending -------------------------------------------------------------------------------

    def _maybe_idle(self) -> None:
        if self.stopping or (not self.feeding and self.outstanding == 0):
            self.idle.set()

    def halt(self) -> None:
        """Stop taking work: cancel waiting retries, drop queued jobs, release the workers."""
        if self.stopping:
            return
        self.stopping = True
        self.halted.set()
        for job, handle in list(self.retries.items()):
            handle.cancel()
            self.retries.pop(job)
            self.tally.retrying -= 1
            self.tally.counts[Outcome.LEFT_TO_RETRY] += 1
            self._finish(job)
        while not self.queue.empty():
            queued = self.queue.get_nowait()
            if queued is not None:
                self._drop(queued)
        self.idle.set()

    def release_workers(self) -> None:
        for _ in range(self.workers):
            self.queue.put_nowait(None)

    def event(self, *, done: bool = False) -> ProgressEvent:
        return ProgressEvent(
            issue_id=self.ledger_id,
            counts=Counts(self.tally.counts),
            retrying=self.tally.retrying,
            total=self.total,
            elapsed=time.monotonic() - self.clock0,
            done=done,
        )

    async def report_progress(self) -> None:
        if self.on_progress is None:
            return
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL)
            self.on_progress(self.event())

    async def watch_stop(self) -> None:
        await self.stop.wait()
        self.halt()


def done_future() -> asyncio.Future[None]:
    """An already-resolved commit future, for a try that wrote nothing."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future
