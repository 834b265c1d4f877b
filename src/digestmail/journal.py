"""Group commit of delivery outcomes: the ledger is written in batches, yet never falls behind.

The promise of the issue is "every subscriber gets at least one copy, and a crash duplicates at
most one message per connection that was in flight". A message is duplicated when the server
said 250 but the ledger does not know yet; so the rule enforced here is: *a connection starts
its next transaction only after the outcome of its previous one is committed*. That allows at
most one unrecorded delivery per connection at any moment.

Waiting for a commit of its own per message would make the ledger the bottleneck (a small
SQLite transaction costs 50-100 µs here, mostly the WAL write), so writes are grouped the way
databases group log flushes: a worker adds its outcome without waiting, gets a future for "the
next flush", and awaits it only right before its connection starts the next transaction --
usually it is done by then. One flusher task commits everything buffered when it runs (outcomes
first, then attempts) and completes that future. With N connections a flush carries up to N
outcomes, so the cost per message falls as concurrency rises, and no fixed timer (e.g. every
50 ms) adds latency to any connection.

Attempts are recorded in batches ahead of time by the producer (a row is ``queued`` from the
moment its recipient is handed to the workers), so they cost one transaction per batch and
none on a connection's critical path. A crash then leaves some ``queued`` rows that were never
tried; the next run sends them, which is exactly what an attempt without an outcome means.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from digestmail.ledger import DeliveryResult


class DeliveryStore(Protocol):
    """The two ledger writes the journal batches (see :class:`digestmail.ledger.Ledger`)."""

    def mark_attempting(self, issue_id: str, items: Sequence[tuple[str, str]]) -> None: ...

    def record_results(self, issue_id: str, results: Sequence[DeliveryResult]) -> None: ...


class Journal:
    """Buffers attempts and outcomes of one issue and commits them in groups."""

    def __init__(self, store: DeliveryStore, issue_id: str) -> None:
        self._store = store
        self._issue_id = issue_id
        self._attempts: list[tuple[str, str]] = []
        self._results: list[DeliveryResult] = []
        self._next: asyncio.Future[None] | None = None
        self._wake = asyncio.Event()
        self._closed = False
        self._failure: BaseException | None = None
        self.flushes = 0

    def _next_flush(self) -> asyncio.Future[None]:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        self._wake.set()
        return self._next

    def add_result(self, result: DeliveryResult) -> asyncio.Future[None]:
        """Queue an outcome; the returned future is done once it is committed.

        A worker awaits that future before its connection starts another transaction.
        """
        self._check()
        self._results.append(result)
        return self._next_flush()

    async def attempts(self, items: Sequence[tuple[str, str]]) -> None:
        """Record ``(email, message_id)`` pairs as attempted; returns once that is committed."""
        self._check()
        self._attempts.extend(items)
        await self._next_flush()

    def _check(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._closed:
            raise RuntimeError("journal already closed")

    async def run(self) -> None:
        """The flusher: commit whatever is buffered whenever something arrives, until closed."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            # One turn of the loop lets every worker that is ready right now join this flush.
            await asyncio.sleep(0)
            self.flush()
            if self._closed and not (self._results or self._attempts):
                return

    def flush(self) -> None:
        """Commit everything buffered now (outcomes before attempts) and wake the waiters."""
        results, self._results = self._results, []
        attempts, self._attempts = self._attempts, []
        done, self._next = self._next, None
        try:
            if results:
                self._store.record_results(self._issue_id, results)
            if attempts:
                self._store.mark_attempting(self._issue_id, attempts)
        except BaseException as exc:
            self._failure = exc
            if done is not None and not done.done():
                done.set_exception(exc)
                done.exception()  # retrieved here: a worker may never await it
            raise
        if results or attempts:
            self.flushes += 1
        if done is not None and not done.done():
            done.set_result(None)

    async def close(self) -> None:
        """Flush what is left; called once every worker has stopped."""
        self._closed = True
        self._wake.set()
        self.flush()
