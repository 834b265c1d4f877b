"""One-click suppressions that arrive together are committed together, each before its 200.

Every commit of the ledger waits for an fsync (``synchronous = FULL``) and, while a send runs,
for the send's write lock. One transaction per POST made each request pay both alone, and the
requests queued behind each other in the ledger thread. :class:`SuppressionBatch` instead lets
the first POST commit at once and collects the POSTs that arrive while that commit runs; they
share the next transaction. So an idle server answers as soon as its one row is on disk, and a
busy one needs one commit per round, not one per request.

A request awaits the commit that holds its row, and only then is answered: "the suppression is
committed before the response is sent" holds for every request of a batch. When a batch's
transaction fails, its rows are tried again one transaction each, so one bad row cannot fail the
others; a request whose own row could not be committed gets the error (a 503 from the app),
never a 200. A ledger that stays locked (``LedgerBusyError``) is not tried again row by row:
each try would wait the whole busy timeout once more.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from digestmail.errors import LedgerBusyError
from digestmail.ledger.audience import NewSuppression
from digestmail.ledger.thread import LedgerThread

Item = NewSuppression


@dataclass(eq=False)
class _Waiting:
    item: Item
    done: asyncio.Future[None]


class SuppressionBatch:
    """Group commit of suppressions through one :class:`LedgerThread`."""

    def __init__(self, ledger: LedgerThread) -> None:
        self._ledger = ledger
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self.commits = 0
        """Transactions committed so far (for tests and the bench)."""

    async def suppress(self, item: Item) -> None:
        """Returns once ``item`` is committed; raises the ledger's error when it was not."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(item, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        await done

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                await self._commit(batch)
        finally:
            self._writer = None

    async def _commit(self, batch: list[_Waiting]) -> None:
        items = [w.item for w in batch]
        try:
            await self._ledger.run(lambda ledger: ledger.suppress_many(items))
        except Exception as exc:
            if len(batch) == 1 or isinstance(exc, LedgerBusyError):
                _settle(batch, exc)
                return
            for one in batch:  # one transaction each: a bad row fails only its own request
                await self._commit([one])
            return
        self.commits += 1
        _settle(batch, None)


def _settle(batch: list[_Waiting], error: Exception | None) -> None:
    for waiting in batch:
        if waiting.done.done():  # the request was cancelled (its client went away)
            continue
        if error is None:
            waiting.done.set_result(None)
        else:
            waiting.done.set_exception(error)
