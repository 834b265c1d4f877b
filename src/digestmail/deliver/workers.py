"""The moving parts of one send: producer, workers, retry timers, and how they stop.

:func:`drive` runs a producer that streams the subscriber file in chunks and screens each chunk
against the ledger with one query per kind (suppressed, already handled), a bounded queue, one
worker per connection of each relay (:mod:`.relays`: shares, rests), a token bucket per relay
for the rate limit, retry timers for temporary failures and the group-committing
:class:`~digestmail.deliver.group_commit.Journal`.

Memory stays flat however long the list is: at most :func:`window` recipients are between the
file and their final outcome, and a message's bytes live only while it is being sent (a retry
rebuilds them). Stopping (a signal, a lost lease, no connection possible) cancels waiting
retries and drops queued work; transactions in flight finish or time out on their own. A
destination that refuses every message alike (a full disk under the Maildir) stops the run at
the first message instead of grinding through the list. The shared state and the bookkeeping
of stopping live in :mod:`.run_state`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Iterable
from datetime import datetime

from digestmail.deliver.counts import Outcome
from digestmail.deliver.recipients import MAX_LISTED, chunks
from digestmail.deliver.relays import Relay
from digestmail.deliver.retry import backoff_delay, is_user_unknown
from digestmail.deliver.run_state import MARK_BATCH, Job, RunState, done_future, window
from digestmail.deliver.transports.base import Connection, Gate
from digestmail.errors import (
    DeliveryError,
    HeaderInjectionError,
    LocalTransportError,
    RefusedBeforeSending,
    RelayRefused,
    TransportError,
)
from digestmail.ledger.store import DeliveryResult
from digestmail.models import DeliveryStatus, Recipient
from digestmail.subscribers.reader import SubscriberProblem

__all__ = ["SendRun", "window"]


class SendRun(RunState):
    """One send of one issue: what its producer, workers and retry timers do."""

    # --- the producer ---------------------------------------------------------------------

    async def feed(self, recipients: Iterable[Recipient | SubscriberProblem]) -> None:
        """Screen and hand out the recipients; any error fails the whole run.

        The list is not done when reading it broke part-way (a malformed CSV row raises
        SubscriberError mid-stream) or the ledger refused a query: the run must end with that
        error, not look finished with whatever was sent until then.
        """
        try:
            for chunk in chunks(recipients):
                if self.stopping:
                    break
                fresh = self.screen(chunk, self.active)
                if self.dry_run:
                    self.tally.counts[Outcome.SENT] += len(fresh)
                else:
                    await self._admit(fresh)
                await asyncio.sleep(0)
        except Exception as exc:
            self._fail(exc)
            raise
        finally:
            self.feeding = False
            self._maybe_idle()

    async def _admit(self, recipients: list[Recipient]) -> None:
        """Take window slots, record the attempts in batches, then hand the jobs to workers."""
        batch: list[Job] = []
        for recipient in recipients:
            # Dispatch a full batch; a partial one only when the window is full and the
            # workers could run dry waiting for it.
            starving = self.window.locked() and self.queue.qsize() < 2 * self.workers
            if batch and (len(batch) >= MARK_BATCH or starving):
                await self._dispatch(batch)
                batch = []
            await self.window.acquire()
            if self.stopping:
                self.window.release()
                break
            self.active.add(recipient.email)
            self.outstanding += 1
            batch.append(Job(recipient))
        if batch:
            await self._dispatch(batch)

    async def _dispatch(self, batch: list[Job]) -> None:
        message_id = self.factory.message_id
        await self.journal.attempts(
            [(j.recipient.email, message_id(j.recipient.email)) for j in batch]
        )
        if self.late is not None:
            self.late.poll()  # whatever was suppressed before these attempts is seen
        for job in batch:
            job.marked = True
            if self.stopping:
                self._drop(job)
            else:
                self.queue.put_nowait(job)
        if self.presign is not None and not self.stopping:
            self.presign.submit(batch)

    # --- the workers ------------------------------------------------------------------------

    async def work(self, relay: Relay, rank: int) -> None:
        """One connection of ``relay``: take messages while the relay's share includes it."""
        connection: Connection | None = None
        durable: asyncio.Future[None] | None = None
        try:
            while await self._my_turn(relay, rank) and (job := await self.queue.get()) is not None:
                if self.stopping:
                    self._drop(job)
                    continue
                if connection is None or not connection.usable:
                    if connection is not None:
                        await _close_quietly(connection)
                        connection = None
                    try:
                        connection = await relay.transport.connect()
                    except LocalTransportError as exc:
                        self._stop_for(job, exc)
                        return
                    except TransportError as exc:
                        self._connect_failed(relay, job, exc)
                        continue
                    self.relays.connected(relay)
                durable = await self._transact(relay, connection, job, after=durable)
        except Exception as exc:
            self._fail(exc)
            raise
        finally:
            if connection is not None:
                await _close_quietly(connection)

    async def _my_turn(self, relay: Relay, rank: int) -> bool:
        """Wait while ``relay`` rests or its share leaves this worker out; False at the end."""
        relays = self.relays
        while not (self.stopping or self.released):
            now = time.monotonic()
            if rank < relays.active(relay, now):
                return True
            changed = relays.changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(relays.wait_time(relay, now)):
                    await changed.wait()
        return not self.released

    def _connect_failed(self, relay: Relay, job: Job, exc: TransportError) -> None:
        """The relay refused a connection, or refused us (RelayRefused): it rests, or is out
        for a setup error, and the message waits, untried, for another relay's worker; when
        every relay is down, the run ends with this error."""
        if self.relays.connect_failed(relay, exc):
            self.error = self.error or exc
            self._drop(job)
            self.halt()
        elif self.stopping:
            self._drop(job)
        else:
            self.queue.put_nowait(job)

    async def _transact(
        self, relay: Relay, connection: Connection, job: Job, *, after: asyncio.Future[None] | None
    ) -> asyncio.Future[None]:
        """One try; returns the future of the commit of its outcome.

        ``after`` is the commit of the connection's previous outcome: the transport awaits it
        before it lets this message be delivered (see :mod:`digestmail.deliver.group_commit`).
        """
        email = job.recipient.email
        if not await relay.bucket.acquire(self.halted):
            self._drop(job)  # stopped while waiting for the rate limit: not sent, not tried
            return after if after is not None else done_future()
        if self.presign is not None:
            await self.presign.take(job)  # the pool's signed message, if it made this one
            if self.stopping:
                self._drop(job)
                return after if after is not None else done_future()
        if job.message is None:
            try:
                job.message = self.factory.build(job.recipient)
            except HeaderInjectionError as exc:
                return self._refused_by_us(job, str(exc))
        message = job.message
        if not job.marked:  # a retry: its attempt is recorded now, alone
            await self.journal.attempts([(email, message.message_id)])
        job.marked = False
        if self.late is not None and self.late.applies(email):
            return self._suppressed_meanwhile(job, after)
        job.tries += 1
        self.tried += 1
        try:
            sender = message.sender or self.sender
            result = await connection.send(sender, message, gate=self._gate(after))
        except RefusedBeforeSending as exc:
            return self._refused_by_us(job, str(exc))
        except DeliveryError as exc:
            return self._failed(job, exc, relay)
        except LocalTransportError as exc:
            self._stop_for(job, exc)
            return after if after is not None else done_future()
        except RelayRefused as exc:  # not handed over: untried, for another relay or run
            job.tries -= 1
            self.tried -= 1
            job.marked = True  # its attempt is on record; the next relay's try is the same one
            self._connect_failed(relay, job, exc)
            return after if after is not None else done_future()
        except TransportError as exc:
            return self._failed(job, DeliveryError(str(exc), recipient=email), relay)
        self.tally.counts[Outcome.SENT] += 1
        self.relays.accepted(relay)
        self._finish(job)
        return self.journal.add_result(
            DeliveryResult(email, DeliveryStatus.SENT, result.code, result.reply, relay.name)
        )

    def _suppressed_meanwhile(
        self, job: Job, after: asyncio.Future[None] | None
    ) -> asyncio.Future[None]:
        """Suppressed after its chunk was screened, before its transaction: recorded as
        suppressed, not sent. The connection's previous outcome stays what the next message
        waits for (``after``), so the rule of the group commit holds unchanged."""
        self.tally.counts[Outcome.SUPPRESSED] += 1
        self._finish(job)
        self.journal.add_result(
            DeliveryResult(job.recipient.email, DeliveryStatus.SUPPRESSED, None, "")
        )
        return after if after is not None else done_future()

    def _gate(self, after: asyncio.Future[None] | None) -> Gate | None:
        if after is None:
            return None
        journal = self.journal

        def gate() -> Awaitable[None] | None:
            return None if after.done() else journal.durable(after)

        return gate

    def _failed(self, job: Job, exc: DeliveryError, relay: Relay) -> asyncio.Future[None]:
        """A refusal or a broken transaction on ``relay``: a temporary one is retried (on
        whichever relay's worker takes it first) after a backoff, like any deferral."""
        email = job.recipient.email
        reply = exc.reply or str(exc)
        if not exc.temporary:
            if is_user_unknown(exc.code, reply):
                self.ledger.suppress(
                    email, list_key=self.list_key, reason=f"{exc.code} {reply}", source="smtp"
                )
            shown = f"{exc.code} {reply}"
            return self._failed_for_good(job, exc.code, reply, shown=shown, relay=relay.name)
        self.relays.deferred(relay, f"{exc.code} {reply}" if exc.code else reply)
        job.message = None  # rebuilt on retry: no message bytes wait in memory
        last_chance = self.screen.last_chance.get(email)
        if last_chance is not None and job.tries >= self.cfg.max_attempts and not self.stopping:
            return self._give_up(job, exc, *last_chance, relay=relay.name)
        if job.tries >= self.cfg.max_attempts or self.stopping:
            self.tally.counts[Outcome.LEFT_TO_RETRY] += 1
            self._finish(job)
        else:
            delay = backoff_delay(job.tries, cap=self.cfg.retry_max_delay)
            self.tally.retrying += 1
            self.retries[job] = asyncio.get_running_loop().call_later(delay, self._requeue, job)
        return self.journal.add_result(
            DeliveryResult(email, DeliveryStatus.FAILED_TEMPORARY, exc.code, reply, relay.name)
        )

    def _refused_by_us(self, job: Job, reason: str) -> asyncio.Future[None]:
        """Our own check refused the row's message (a control character bound for a header).

        The row's fault, not the recipient's: it is named like an invalid row, recorded as a
        temporary failure and counted as left to retry (the issue stays open, exit 75), so the
        first run after the file is fixed delivers it. Past ``give_up_after_days`` it is
        failed for good, like any deferral, so an unfixed row cannot hold the issue forever.
        """
        email = job.recipient.email
        reply = f"refused by digestmail before sending: {reason}; fix the row, then run again"
        last_chance = self.screen.last_chance.get(email)
        if last_chance is not None:
            first, earlier = last_chance
            reply = f"gave up after {earlier + job.tries} attempts since {first:%Y-%m-%d}: {reply}"
            return self._failed_for_good(job, None, reply, shown=reply)
        if len(self.tally.invalid_rows) < MAX_LISTED:
            self.tally.invalid_rows.append(f"line {job.recipient.line}: {email}: {reply}")
        self.tally.counts[Outcome.LEFT_TO_RETRY] += 1
        self._finish(job)
        return self.journal.add_result(
            DeliveryResult(email, DeliveryStatus.FAILED_TEMPORARY, None, reply)
        )

    def _stop_for(self, job: Job, exc: LocalTransportError) -> None:
        """A destination that refuses every message alike: stop the run now, blame no one.

        The job's attempt stays ``queued`` in the ledger, so the next run sends it; nothing was
        written, so nobody gets a second copy.
        """
        self._drop(job)
        self._fail(exc)

    def _give_up(
        self, job: Job, exc: DeliveryError, first: datetime, earlier: int, *, relay: str | None
    ) -> asyncio.Future[None]:
        """Deferred again after ``smtp.give_up_after_days``: failed for good, so the issue can
        finish instead of keeping every later run at exit 75 for one address."""
        last = f"{exc.code} {exc.reply or exc}" if exc.code else str(exc)  # no code: no reply
        reply = (
            f"gave up after {earlier + job.tries} attempts since {first:%Y-%m-%d %H:%M} UTC; "
            f"last: {last}"
        )
        return self._failed_for_good(job, exc.code, reply, shown=reply, relay=relay)

    def _failed_for_good(
        self, job: Job, code: int | None, reply: str, *, shown: str, relay: str | None = None
    ) -> asyncio.Future[None]:
        """Record a permanent failure; ``shown`` is how the summary lists it."""
        email = job.recipient.email
        self.tally.counts[Outcome.FAILED_PERMANENT] += 1
        self._note_failure(f"{email}: {shown}")
        self._finish(job)
        return self.journal.add_result(
            DeliveryResult(email, DeliveryStatus.FAILED_PERMANENT, code, reply, relay)
        )


async def _close_quietly(connection: Connection) -> None:
    with contextlib.suppress(Exception):
        await connection.close()
