"""Group commit of delivery outcomes: the ledger is written in batches, yet never falls behind.

The promise of the issue is "every subscriber gets at least one copy, and a crash duplicates at
most one message per connection that was in flight". A message is duplicated when the server
said 250 but the ledger does not know yet; so the rule enforced here is: *a connection starts
its next transaction only after the outcome of its previous one is committed*. That allows at
most one unrecorded delivery per connection at any moment.

Waiting for a commit per message would make the ledger the bottleneck, so writes are grouped
the way databases group log flushes: a worker adds its outcome without waiting and, before its
next transaction, adds the next attempt and waits for "the next flush". One flusher task
commits everything buffered by then -- outcomes first, then attempts, two transactions -- and
wakes every waiter. With N connections a flush carries up to N outcomes and N attempts, so
the cost per message falls as concurrency rises, and no fixed timer (e.g. every 50 ms) adds
latency to any connection.
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
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._failure: BaseException | None = None
        self.flushes = 0

    def add_result(self, result: DeliveryResult) -> None:
        """Queue an outcome; it is committed before this worker's next attempt starts."""
        self._check()
        self._results.append(result)
        self._wake.set()

    async def attempt(self, email: str, message_id: str) -> None:
        """Record that a transaction is about to start; returns once that is committed."""
        self._check()
        self._attempts.append((email, message_id))
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._wake.set()
        await waiter

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
        waiters, self._waiters = self._waiters, []
        try:
            if results:
                self._store.record_results(self._issue_id, results)
            if attempts:
                self._store.mark_attempting(self._issue_id, attempts)
        except BaseException as exc:
            self._failure = exc
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            raise
        if results or attempts:
            self.flushes += 1
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def close(self) -> None:
        """Flush what is left; called once every worker has stopped."""
        self._closed = True
        self._wake.set()
        self.flush()
