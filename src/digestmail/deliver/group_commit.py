"""Group commit of delivery outcomes: the ledger is written in batches, yet never falls behind.

The promise of the issue is "every subscriber gets at least one copy, and a crash duplicates at
most one message per connection that was in flight". A message is duplicated when the server
accepted it but the ledger does not know yet. A server accepts a message only when it reads
the end-of-data mark (the lone ``.``) and answers 250; a session that breaks earlier delivers
nothing. So the rule enforced here is: *before a connection sends the end-of-data mark of a
message, the outcome of its previous message is committed*. At any moment each connection then
has at most one accepted-but-unrecorded message: the one whose 250 just arrived.

That rule leaves time to batch. A worker adds its outcome without waiting and gets a future for
"the flush that will include it"; it awaits that future only when its *next* message's body is
already on the wire (see ``gate`` in
:meth:`.transports.base.Connection.send`). The flusher
commits only when somebody is waiting that way (or an attempt batch is waiting, or 50 ms
passed), by which time the other connections have usually added their outcomes too: one
SQLite transaction (50-100 µs here, mostly the WAL write) then carries about one outcome per
connection, and no connection stalls for it.

Attempts are recorded in batches ahead of time by the producer (a row is ``queued`` from the
moment its recipient is handed to the workers), so they cost one transaction per batch and
none on a connection's critical path. A crash then leaves some ``queued`` rows that were never
tried; the next run sends them, which is exactly what an attempt without an outcome means.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol

from digestmail.ledger.store import DeliveryResult

MAX_DELAY = 0.05
"""Seconds an outcome may wait for a commit when nobody needs it sooner (``status`` freshness)."""


class DeliveryStore(Protocol):
    """The two ledger writes the journal batches (see :class:`digestmail.ledger.store.Ledger`)."""

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
        self._pending = asyncio.Event()
        """Something is buffered."""
        self._urgent = asyncio.Event()
        """Somebody waits for the next flush."""
        self._closed = False
        self._failure: BaseException | None = None
        self.flushes = 0

    def _next_flush(self) -> asyncio.Future[None]:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        self._pending.set()
        return self._next

    def add_result(self, result: DeliveryResult) -> asyncio.Future[None]:
        """Queue an outcome; the returned future is done once it is committed.

        Pass the future to :meth:`durable` before the connection ends its next message.
        """
        self._check()
        self._results.append(result)
        return self._next_flush()

    async def durable(self, flushed: asyncio.Future[None]) -> None:
        """Wait until the flush behind ``flushed`` is committed, asking for it now."""
        if not flushed.done():
            self._urgent.set()
            await flushed

    async def attempts(self, items: Sequence[tuple[str, str]]) -> None:
        """Record ``(email, message_id)`` pairs as attempted; returns once that is committed."""
        self._check()
        self._attempts.extend(items)
        await self.durable(self._next_flush())

    def _check(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._closed:
            raise RuntimeError("journal already closed")

    async def run(self) -> None:
        """The flusher: commit when asked to (or MAX_DELAY after the first outcome)."""
        while not self._closed:
            await self._pending.wait()
            if not self._urgent.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(MAX_DELAY):
                        await self._urgent.wait()
            # One more turn of the loop lets every worker that is ready right now join in.
            await asyncio.sleep(0)
            self.flush()

    def flush(self) -> None:
        """Commit everything buffered now (outcomes before attempts) and wake the waiters."""
        self._pending.clear()
        self._urgent.clear()
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
        self._pending.set()
        self.flush()
